// Webhooks UI behaviour that needs JavaScript. The only script of our own (strict CSP:
// no inline scripts, no eval, no hx-on). Everything is wired through data attributes.
(function () {
  "use strict";

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  // Right-click (or the context-menu key) on a project in the sidebar opens its menu.
  var menu = null;
  function closeMenu() { if (menu) menu.hidden = true; }
  function openMenu(link, x, y) {
    menu = document.getElementById("project-menu");
    if (!menu) return;
    menu.querySelectorAll("[data-menu-link]").forEach(function (item) {
      item.href = link.dataset[item.dataset.menuLink.replace(/-([a-z])/g, function (_, c) {
        return c.toUpperCase();
      })] || "#";
    });
    menu.hidden = false;
    var width = menu.offsetWidth, height = menu.offsetHeight;
    menu.style.left = Math.min(x, window.innerWidth - width - 4) + "px";
    menu.style.top = Math.min(y, window.innerHeight - height - 4) + "px";
    var first = menu.querySelector("[role=menuitem]");
    if (first) first.focus();
  }
  document.addEventListener("contextmenu", function (event) {
    var link = event.target.closest("[data-project-menu]");
    if (!link) return;
    event.preventDefault();
    var box = link.getBoundingClientRect();
    var x = event.clientX || box.left + 8, y = event.clientY || box.bottom;
    openMenu(link, x, y);
  });
  document.addEventListener("click", function (event) {
    if (menu && !menu.hidden && !event.target.closest("#project-menu")) closeMenu();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenu();
  });

  // Copy buttons: data-copy-target="#selector" copies that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copyTarget);
    if (!source) return;
    var text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.trim()).then(done, function () { toast("Copy failed: select the text and copy it."); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { toast("Select the text and copy it."); }
    }
  });

  // "Select all" checkboxes: data-select-all on a checkbox toggles the others in its fieldset.
  function syncSelectAll(fieldset) {
    var all = fieldset.querySelector("[data-select-all]");
    if (!all) return;
    var boxes = fieldset.querySelectorAll("input[type=checkbox]:not([data-select-all])");
    var checked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    all.checked = checked === boxes.length && boxes.length > 0;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox]")) return;
    var fieldset = box.closest("fieldset");
    if (!fieldset) return;
    if (box.hasAttribute("data-select-all")) {
      fieldset.querySelectorAll("input[type=checkbox]:not([data-select-all])").forEach(function (b) {
        b.checked = box.checked;
      });
    }
    syncSelectAll(fieldset);
  });
  function syncAll(root) {
    (root || document).querySelectorAll("fieldset").forEach(syncSelectAll);
  }
  document.addEventListener("DOMContentLoaded", function () { syncAll(document); });
  document.addEventListener("htmx:load", function (event) { syncAll(event.target); });

  // Errors that htmx does not swap (4xx other than 422, 5xx, network) become a toast.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    toast(status === 404 ? "Not found (it may have been deleted)." :
          status === 400 ? "The request was refused (reload the page and try again)." :
          "Something went wrong (HTTP " + status + "). Try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server did not answer. Check your connection and try again.");
  });
})();
