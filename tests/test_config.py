"""Settings that are not about one feature: the generated SECRET_KEY."""
from __future__ import annotations

import os
import threading

from webhooks.config import instance_secret_key


def test_the_generated_secret_key_is_kept_and_reused(tmp_path):
    key = instance_secret_key(str(tmp_path))
    assert len(key) >= 40
    assert instance_secret_key(str(tmp_path)) == key
    assert oct(os.stat(tmp_path / "secret_key").st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_processes_starting_together_agree_on_one_key(tmp_path):
    """gunicorn starts its workers at once: they must not make (or fail on) different keys."""
    start, keys, errors = threading.Barrier(8), [], []

    def boot():
        start.wait()
        try:
            keys.append(instance_secret_key(str(tmp_path)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(keys) == 8 and len(set(keys)) == 1
    assert (tmp_path / "secret_key").read_text().strip() == keys[0]
