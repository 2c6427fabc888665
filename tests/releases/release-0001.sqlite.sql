BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0001');
CREATE TABLE api_token_projects (
	token_id INTEGER NOT NULL, 
	project_id BIGINT NOT NULL, 
	CONSTRAINT pk_api_token_projects PRIMARY KEY (token_id, project_id), 
	CONSTRAINT fk_api_token_projects_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE, 
	CONSTRAINT fk_api_token_projects_token_id_api_tokens FOREIGN KEY(token_id) REFERENCES api_tokens (id) ON DELETE CASCADE
);
INSERT INTO "api_token_projects" VALUES(2,775);
CREATE TABLE api_tokens (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	scopes VARCHAR(200) NOT NULL, 
	all_projects BOOLEAN NOT NULL, 
	expires_at DATETIME, 
	revoked_at DATETIME, 
	last_used_at DATETIME, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_api_tokens PRIMARY KEY (id), 
	CONSTRAINT fk_api_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
);
INSERT INTO "api_tokens" VALUES(1,1,'all','ba80e15571428be2f6b89e94d71bc6e67ca0780afa6c116b5a01bd004411d238','whk_Q5Y2mn','events:write,webhooks:read,webhooks:write,projects:write',1,NULL,NULL,'2026-12-01 15:26:20.605863','2026-12-01 15:26:18.490938');
INSERT INTO "api_tokens" VALUES(2,2,'Ünïcødé ✓ 🚀 «quotes» "\ 日本語','2c74106d69c6eaa8350cb68d368f907e2b713e71269276440f185763dfdcca41','whk_Uv1rET','events:write,webhooks:read',0,NULL,NULL,'2026-12-01 15:26:20.755886','2026-12-01 15:26:19.156423');
INSERT INTO "api_tokens" VALUES(3,1,'short','f4a7e97a8f465d279f51c5fc3548b0d1089b5df40d900599860ee7a3e5bfde35','whk_mqrIky','webhooks:read',1,'2026-12-01 15:26:20.839667',NULL,NULL,'2026-12-01 15:26:19.839667');
CREATE TABLE deliveries (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	webhook_id INTEGER NOT NULL, 
	event_id VARCHAR(32) NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	cycle_attempts INTEGER NOT NULL, 
	http_code INTEGER, 
	duration_ms INTEGER, 
	last_error TEXT, 
	next_attempt_at DATETIME, 
	claim_token VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	completed_at DATETIME, 
	CONSTRAINT fk_deliveries_event_id_events FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE CASCADE, 
	CONSTRAINT fk_deliveries_webhook_id_webhooks FOREIGN KEY(webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
);
INSERT INTO "deliveries" VALUES(1,1,'evt_6e47e14b42e94d0e920abcf7a967','task.created','success',1,1,200,12,NULL,NULL,NULL,'2026-12-01 15:26:20.649971','2026-12-01 15:26:20.736824');
INSERT INTO "deliveries" VALUES(2,2,'evt_6e47e14b42e94d0e920abcf7a967','task.created','failed',3,3,503,1,'HTTP 503',NULL,NULL,'2026-12-01 15:26:20.649971','2026-12-01 15:26:21.550590');
INSERT INTO "deliveries" VALUES(3,1,'evt_ce75d70ae1e24c35892de3dc95c2','task.updated','success',1,1,200,3,NULL,NULL,NULL,'2026-12-01 15:26:20.662294','2026-12-01 15:26:20.740922');
INSERT INTO "deliveries" VALUES(4,1,'evt_3c94b2e93d844ab1864320d3c7a9','sprint.completed','success',1,1,200,2,NULL,NULL,NULL,'2026-12-01 15:26:20.745176','2026-12-01 15:26:20.750917');
INSERT INTO "deliveries" VALUES(5,2,'evt_a1a0342146c74f6490e2d1d05f01','time-entry.started','failed',6,3,503,1,'HTTP 503',NULL,NULL,'2026-12-01 15:26:20.751318','2026-12-01 15:26:22.534151');
INSERT INTO "deliveries" VALUES(6,3,'evt_4aa758b75ddc408198e70181e7ee','task.assignedToSprint','success',1,1,200,1,NULL,NULL,NULL,'2026-12-01 15:26:20.759236','2026-12-01 15:26:20.766300');
INSERT INTO "deliveries" VALUES(7,1,'evt_e05efb12909c4889ab89d652785d','webhook.test','success',1,1,200,1,NULL,NULL,NULL,'2026-12-01 15:26:20.768407','2026-12-01 15:26:20.771868');
CREATE TABLE delivery_attempts (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	delivery_id INTEGER NOT NULL, 
	attempted_at DATETIME NOT NULL, 
	http_code INTEGER, 
	duration_ms INTEGER NOT NULL, 
	error TEXT, 
	response_body TEXT, 
	CONSTRAINT fk_delivery_attempts_delivery_id_deliveries FOREIGN KEY(delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE
);
INSERT INTO "delivery_attempts" VALUES(1,2,'2026-12-01 15:26:20.657599',503,10,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(2,1,'2026-12-01 15:26:20.656969',200,12,NULL,'ok');
INSERT INTO "delivery_attempts" VALUES(3,3,'2026-12-01 15:26:20.736668',200,3,NULL,'ok');
INSERT INTO "delivery_attempts" VALUES(4,4,'2026-12-01 15:26:20.748565',200,2,NULL,'ok');
INSERT INTO "delivery_attempts" VALUES(5,5,'2026-12-01 15:26:20.756728',503,1,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(6,6,'2026-12-01 15:26:20.764756',200,1,NULL,'ok');
INSERT INTO "delivery_attempts" VALUES(7,7,'2026-12-01 15:26:20.768407',200,1,NULL,'ok');
INSERT INTO "delivery_attempts" VALUES(8,2,'2026-12-01 15:26:21.149382',503,2,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(9,5,'2026-12-01 15:26:21.149501',503,2,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(10,2,'2026-12-01 15:26:21.548861',503,1,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(11,5,'2026-12-01 15:26:21.548937',503,0,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(12,5,'2026-12-01 15:26:21.733900',503,1,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(13,5,'2026-12-01 15:26:22.132433',503,1,'HTTP 503','ok');
INSERT INTO "delivery_attempts" VALUES(14,5,'2026-12-01 15:26:22.532780',503,1,'HTTP 503','ok');
CREATE TABLE events (
	id VARCHAR(32) NOT NULL, 
	project_id BIGINT NOT NULL, 
	type VARCHAR(64) NOT NULL, 
	body TEXT NOT NULL, 
	idempotency_key VARCHAR(255), 
	delivery_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_events PRIMARY KEY (id), 
	CONSTRAINT fk_events_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE, 
	CONSTRAINT uq_events_project_id UNIQUE (project_id, idempotency_key)
);
INSERT INTO "events" VALUES('evt_6e47e14b42e94d0e920abcf7a967',774,'task.created','{"event":"task.created","timestamp":"2026-12-01T15:26:20.649Z","task":{"id":123,"goalId":774,"description":"Ünïcødé ✓ 🚀 «quotes» \"\\ 日本語","complete":false,"statusId":5,"priorityId":2,"tags":[1,3],"assignedUsers":[10,22],"subtasks":[]},"initiatorId":1}','key-0',2,'2026-12-01 15:26:20.649971');
INSERT INTO "events" VALUES('evt_ce75d70ae1e24c35892de3dc95c2',774,'task.updated','{"event":"task.updated","timestamp":"2026-12-01T15:26:20.662Z","task":{"id":123,"goalId":774,"description":"Ünïcødé ✓ 🚀 «quotes» \"\\ 日本語","complete":false,"statusId":6,"priorityId":2,"tags":[1,3],"assignedUsers":[10,22],"subtasks":[]},"changes":{"statusId":6},"initiatorId":null}','key-1',1,'2026-12-01 15:26:20.662294');
INSERT INTO "events" VALUES('evt_3c94b2e93d844ab1864320d3c7a9',774,'sprint.completed','{"event":"sprint.completed","timestamp":"2026-12-01T15:26:20.745Z","sprintId":42,"goalId":774,"initiatorId":1,"sprint":{"id":42,"goalId":774,"name":"Ünïcødé ✓ 🚀 «quotes» \"\\ 日本語","status":"completed","startDate":"2026-03-08","endDate":"2026-03-22","goalAchieved":true,"completedAt":"2026-03-22T12:00:00.000Z"}}','key-2',1,'2026-12-01 15:26:20.745176');
INSERT INTO "events" VALUES('evt_a1a0342146c74f6490e2d1d05f01',774,'time-entry.started','{"event":"time-entry.started","timestamp":"2026-03-22T12:00:00.000Z","timeEntry":{"id":9,"taskId":123,"goalId":774},"initiatorId":null}','key-3',1,'2026-12-01 15:26:20.751318');
INSERT INTO "events" VALUES('evt_4aa758b75ddc408198e70181e7ee',775,'task.assignedToSprint','{"event":"task.assignedToSprint","timestamp":"2026-12-01T15:26:20.759Z","taskId":5,"sprintId":null,"prevSprintId":42,"goalId":775,"initiatorId":2}',NULL,1,'2026-12-01 15:26:20.759236');
INSERT INTO "events" VALUES('evt_e05efb12909c4889ab89d652785d',774,'webhook.test','{"event":"webhook.test","timestamp":"2026-12-01T15:26:20.768Z","webhookId":1,"goalId":774,"initiatorId":null}',NULL,1,'2026-12-01 15:26:20.768407');
CREATE TABLE memberships (
	user_id INTEGER NOT NULL, 
	project_id BIGINT NOT NULL, 
	CONSTRAINT pk_memberships PRIMARY KEY (user_id, project_id), 
	CONSTRAINT fk_memberships_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE, 
	CONSTRAINT fk_memberships_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "memberships" VALUES(2,775);
CREATE TABLE projects (
	id BIGINT NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_projects PRIMARY KEY (id)
);
INSERT INTO "projects" VALUES(774,'TaskView','2026-12-01 15:26:16.235710','2026-12-01 15:26:16.235710');
INSERT INTO "projects" VALUES(775,'Ünïcødé ✓ 🚀 «quotes» "\ 日本語','2026-12-01 15:26:16.977871','2026-12-01 15:26:16.977871');
CREATE TABLE users (
	id INTEGER NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT uq_users_email UNIQUE (email)
);
INSERT INTO "users" VALUES(1,'admin@example.com','scrypt:32768:8:1$OGtVYMgLIVpvJwDx$45ccfc4e317730518b2c166cca3234e3aff986bddeb5ed239c399bf9949d3ef9909acd18726d8a21b065f3cc92cff2023488ea0bd16ffd705b3de9b802adaefe',1,'2026-12-01 15:26:14.645110');
INSERT INTO "users" VALUES(2,'member@example.com','scrypt:32768:8:1$FS8S4cJCjh1bqYEP$cfe1e21383d17168b36a3fe76e2e8bfa21fcb7ad95b82bb362ab558f1a08507cef5f03b798111bc3b080fccdc9b61f002ff9a42c1fc89cdcdaed8282a5344097',0,'2026-12-01 15:26:15.426248');
CREATE TABLE webhooks (
	id INTEGER NOT NULL, 
	project_id BIGINT NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	events TEXT NOT NULL, 
	secret_encrypted TEXT NOT NULL, 
	active BOOLEAN NOT NULL, 
	consecutive_failures INTEGER NOT NULL, 
	deactivated_at DATETIME, 
	deactivation_reason VARCHAR(200), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_webhooks PRIMARY KEY (id), 
	CONSTRAINT fk_webhooks_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE
);
INSERT INTO "webhooks" VALUES(1,774,'http://127.0.0.1:33435/hook','task.created,task.updated,sprint.completed','gAAAAABrDuccZmcII1EjOlxGGmEhddk1Gve9cfjr5lENRyYbwzDMhhLGq0bMG-KrAPSB_QzbbtINBWAvxWaDYvjjA750seojJy11C5HwtJkAi_dSGLiMjjjEp1V5dg_6E0KX96I9XDQV1ORB05J4SuWGfZpZE8d-kA==',1,0,NULL,NULL,'2026-12-01 15:26:20.620418','2026-12-01 15:26:20.620418');
INSERT INTO "webhooks" VALUES(2,774,'http://127.0.0.1:36927/hook','task.created,time-entry.started','gAAAAABrDuccmj5vaaz_WuB0HxvKaH0OhhBz9Vivab0ay-QkOJ_Z_yl7RAr81mq0SJSb1VRXsFx8TmZihRcuTJEQQrU2O0AG4j1-UeP1vGkChmrRIRqYEkxk42N9YEs28RigxVoZ5Drz1UMk8MlkIDacubjhu5wufA==',1,3,NULL,NULL,'2026-12-01 15:26:20.627989','2026-12-01 15:26:20.627989');
INSERT INTO "webhooks" VALUES(3,775,'http://127.0.0.1:33435/hook/second','task.updated,task.assignedToSprint','gAAAAABrDuccBLVfwPeucPIdSk8VovOCsl41qQczynnJOXNT_RINb0v1ryxLtrV6Eluj2BZhNxUhBDnm5309LUqURhA1KV_TlbYNLa7yc3AjQR7m9juA5ZrGZ6YabRjdrPJcQQFY0PQBBL8SBaNqbg3-b6RDWAnCJg==',1,0,NULL,NULL,'2026-12-01 15:26:20.632133','2026-12-01 15:26:20.632133');
INSERT INTO "webhooks" VALUES(4,774,'http://127.0.0.1:33435/hook/off','task.deleted','gAAAAABrDuccsElFR6ooNI5Xht9xJAn_PqSQKeivWwuEuBtDXo1qjoHZ0dLnAirXAd4tWua-Nnh3vFS1Hp_xxETxLVWvX7owF23HQbAW_ccyMzsIiJxir5IxhoNe61Xm5SGZMZvW4cnLlyp6zRdxS232unCcHeh-PQ==',0,0,'2026-12-01 15:26:20.645359','turned off by hand','2026-12-01 15:26:20.636027','2026-12-01 15:26:20.645359');
CREATE INDEX ix_api_tokens_user_id ON api_tokens (user_id);
CREATE INDEX ix_events_created_at ON events (created_at);
CREATE INDEX ix_webhooks_project_id ON webhooks (project_id);
CREATE INDEX ix_deliveries_completed_at ON deliveries (completed_at);
CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ix_deliveries_event_id ON deliveries (event_id);
CREATE INDEX ix_deliveries_webhook_id_id ON deliveries (webhook_id, id);
CREATE INDEX ix_deliveries_webhook_id_status_id ON deliveries (webhook_id, status, id);
CREATE INDEX ix_delivery_attempts_delivery_id ON delivery_attempts (delivery_id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('deliveries',7);
INSERT INTO "sqlite_sequence" VALUES('delivery_attempts',14);
COMMIT;
