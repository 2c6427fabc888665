--
-- PostgreSQL database dump
--

\restrict rvxBhoRKhDVelU1AV8M4YaUxcwCPuEeF6Ql1hFb9C4YiONSFRTZ611lBl9gEnG8

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: api_token_projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_token_projects (
    token_id integer NOT NULL,
    project_id bigint NOT NULL
);


--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(200) NOT NULL,
    token_hash character varying(64) NOT NULL,
    prefix character varying(16) NOT NULL,
    scopes character varying(200) NOT NULL,
    all_projects boolean NOT NULL,
    expires_at timestamp without time zone,
    revoked_at timestamp without time zone,
    last_used_at timestamp without time zone,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: api_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;


--
-- Name: deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deliveries (
    id bigint NOT NULL,
    webhook_id integer NOT NULL,
    event_id character varying(32) NOT NULL,
    event_type character varying(64) NOT NULL,
    status character varying(16) NOT NULL,
    attempts integer NOT NULL,
    cycle_attempts integer NOT NULL,
    http_code integer,
    duration_ms integer,
    last_error text,
    next_attempt_at timestamp without time zone,
    claim_token character varying(32),
    created_at timestamp without time zone NOT NULL,
    completed_at timestamp without time zone
);


--
-- Name: deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deliveries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deliveries_id_seq OWNED BY public.deliveries.id;


--
-- Name: delivery_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.delivery_attempts (
    id bigint NOT NULL,
    delivery_id bigint NOT NULL,
    attempted_at timestamp without time zone NOT NULL,
    http_code integer,
    duration_ms integer NOT NULL,
    error text,
    response_body text
);


--
-- Name: delivery_attempts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.delivery_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: delivery_attempts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.delivery_attempts_id_seq OWNED BY public.delivery_attempts.id;


--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    id character varying(32) NOT NULL,
    project_id bigint NOT NULL,
    type character varying(64) NOT NULL,
    body text NOT NULL,
    idempotency_key character varying(255),
    delivery_count integer NOT NULL,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: memberships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.memberships (
    user_id integer NOT NULL,
    project_id bigint NOT NULL
);


--
-- Name: projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.projects (
    id bigint NOT NULL,
    name character varying(200) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    email character varying(254) NOT NULL,
    password_hash character varying(255) NOT NULL,
    is_admin boolean NOT NULL,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    id integer NOT NULL,
    project_id bigint NOT NULL,
    url character varying(2048) NOT NULL,
    events text NOT NULL,
    secret_encrypted text NOT NULL,
    active boolean NOT NULL,
    consecutive_failures integer NOT NULL,
    deactivated_at timestamp without time zone,
    deactivation_reason character varying(200),
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: webhooks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhooks_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhooks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhooks_id_seq OWNED BY public.webhooks.id;


--
-- Name: api_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);


--
-- Name: deliveries id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries ALTER COLUMN id SET DEFAULT nextval('public.deliveries_id_seq'::regclass);


--
-- Name: delivery_attempts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_attempts ALTER COLUMN id SET DEFAULT nextval('public.delivery_attempts_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Name: webhooks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks ALTER COLUMN id SET DEFAULT nextval('public.webhooks_id_seq'::regclass);


--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.alembic_version (version_num) FROM stdin;
0001
\.


--
-- Data for Name: api_token_projects; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_token_projects (token_id, project_id) FROM stdin;
2	775
\.


--
-- Data for Name: api_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_tokens (id, user_id, name, token_hash, prefix, scopes, all_projects, expires_at, revoked_at, last_used_at, created_at) FROM stdin;
3	1	short	8ce6dde502a339e1cb995e7bec44a079cf86a1f97a6417a89dcbe132d78c7416	whk_-95_OM	webhooks:read	t	2026-12-01 15:26:31.111628	\N	\N	2026-12-01 15:26:30.111628
1	1	all	d909f8822c64e816f5424bd2d25f4d39c8f4cd33e47d18ee8ca69dc19d2a3b5a	whk_fgicLI	events:write,webhooks:read,webhooks:write,projects:write	t	\N	\N	2026-12-01 15:26:30.914357	2026-12-01 15:26:28.592839
2	2	Ünïcødé ✓ 🚀 «quotes» "\\ 日本語	38f03765e9b536e6ea154a932400bcf6a33ff7451520a689b47a83cd0c7a4dae	whk_vv30wD	events:write,webhooks:read	f	\N	\N	2026-12-01 15:26:31.0183	2026-12-01 15:26:29.364014
\.


--
-- Data for Name: deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deliveries (id, webhook_id, event_id, event_type, status, attempts, cycle_attempts, http_code, duration_ms, last_error, next_attempt_at, claim_token, created_at, completed_at) FROM stdin;
1	1	evt_357b014c0b144ae0b36cddad6e1b	task.created	success	1	1	200	8	\N	\N	\N	2026-12-01 15:26:30.966453	2026-12-01 15:26:30.988833
3	1	evt_d57277e2e23e4af799ce0beec752	task.updated	success	1	1	200	1	\N	\N	\N	2026-12-01 15:26:30.983585	2026-12-01 15:26:31.002602
4	1	evt_937bbc2c2db5486a8f88f3cc663b	sprint.completed	success	1	1	200	3	\N	\N	\N	2026-12-01 15:26:30.997692	2026-12-01 15:26:31.014526
6	3	evt_93d6666dd18e45678cadde7b13d7	task.assignedToSprint	success	1	1	200	1	\N	\N	\N	2026-12-01 15:26:31.025235	2026-12-01 15:26:31.038197
7	1	evt_68d90aab86104f08bf8df02224da	webhook.test	success	1	1	200	2	\N	\N	\N	2026-12-01 15:26:31.037313	2026-12-01 15:26:31.042781
2	2	evt_357b014c0b144ae0b36cddad6e1b	task.created	failed	3	3	503	1	HTTP 503	\N	\N	2026-12-01 15:26:30.966453	2026-12-01 15:26:31.835557
5	2	evt_45e9c9188a02499c8376cb76f589	time-entry.started	failed	6	3	503	1	HTTP 503	\N	\N	2026-12-01 15:26:31.006532	2026-12-01 15:26:32.828886
\.


--
-- Data for Name: delivery_attempts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.delivery_attempts (id, delivery_id, attempted_at, http_code, duration_ms, error, response_body) FROM stdin;
1	1	2026-12-01 15:26:30.977203	200	8	\N	ok
2	2	2026-12-01 15:26:30.978042	503	8	HTTP 503	ok
3	3	2026-12-01 15:26:30.994812	200	1	\N	ok
4	4	2026-12-01 15:26:31.008246	200	3	\N	ok
5	5	2026-12-01 15:26:31.018973	503	2	HTTP 503	ok
6	6	2026-12-01 15:26:31.034653	200	1	\N	ok
7	7	2026-12-01 15:26:31.037313	200	2	\N	ok
8	5	2026-12-01 15:26:31.433762	503	0	HTTP 503	ok
9	2	2026-12-01 15:26:31.433647	503	1	HTTP 503	ok
10	5	2026-12-01 15:26:31.833755	503	0	HTTP 503	ok
11	2	2026-12-01 15:26:31.833656	503	1	HTTP 503	ok
12	5	2026-12-01 15:26:32.028431	503	1	HTTP 503	ok
13	5	2026-12-01 15:26:32.427029	503	1	HTTP 503	ok
14	5	2026-12-01 15:26:32.827077	503	1	HTTP 503	ok
\.


--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.events (id, project_id, type, body, idempotency_key, delivery_count, created_at) FROM stdin;
evt_357b014c0b144ae0b36cddad6e1b	774	task.created	{"event":"task.created","timestamp":"2026-12-01T15:26:30.966Z","task":{"id":123,"goalId":774,"description":"Ünïcødé ✓ 🚀 «quotes» \\"\\\\ 日本語","complete":false,"statusId":5,"priorityId":2,"tags":[1,3],"assignedUsers":[10,22],"subtasks":[]},"initiatorId":1}	key-0	2	2026-12-01 15:26:30.966453
evt_d57277e2e23e4af799ce0beec752	774	task.updated	{"event":"task.updated","timestamp":"2026-12-01T15:26:30.983Z","task":{"id":123,"goalId":774,"description":"Ünïcødé ✓ 🚀 «quotes» \\"\\\\ 日本語","complete":false,"statusId":6,"priorityId":2,"tags":[1,3],"assignedUsers":[10,22],"subtasks":[]},"changes":{"statusId":6},"initiatorId":null}	key-1	1	2026-12-01 15:26:30.983585
evt_937bbc2c2db5486a8f88f3cc663b	774	sprint.completed	{"event":"sprint.completed","timestamp":"2026-12-01T15:26:30.997Z","sprintId":42,"goalId":774,"initiatorId":1,"sprint":{"id":42,"goalId":774,"name":"Ünïcødé ✓ 🚀 «quotes» \\"\\\\ 日本語","status":"completed","startDate":"2026-03-08","endDate":"2026-03-22","goalAchieved":true,"completedAt":"2026-03-22T12:00:00.000Z"}}	key-2	1	2026-12-01 15:26:30.997692
evt_45e9c9188a02499c8376cb76f589	774	time-entry.started	{"event":"time-entry.started","timestamp":"2026-03-22T12:00:00.000Z","timeEntry":{"id":9,"taskId":123,"goalId":774},"initiatorId":null}	key-3	1	2026-12-01 15:26:31.006532
evt_93d6666dd18e45678cadde7b13d7	775	task.assignedToSprint	{"event":"task.assignedToSprint","timestamp":"2026-12-01T15:26:31.025Z","taskId":5,"sprintId":null,"prevSprintId":42,"goalId":775,"initiatorId":2}	\N	1	2026-12-01 15:26:31.025235
evt_68d90aab86104f08bf8df02224da	774	webhook.test	{"event":"webhook.test","timestamp":"2026-12-01T15:26:31.037Z","webhookId":1,"goalId":774,"initiatorId":null}	\N	1	2026-12-01 15:26:31.037313
\.


--
-- Data for Name: memberships; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.memberships (user_id, project_id) FROM stdin;
2	775
\.


--
-- Data for Name: projects; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.projects (id, name, created_at, updated_at) FROM stdin;
774	TaskView	2026-12-01 15:26:26.216356	2026-12-01 15:26:26.216356
775	Ünïcødé ✓ 🚀 «quotes» "\\ 日本語	2026-12-01 15:26:26.967427	2026-12-01 15:26:26.967427
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (id, email, password_hash, is_admin, created_at) FROM stdin;
1	admin@example.com	scrypt:32768:8:1$I0hjnai263vMX1CI$290ab34f4508cef1bba05a17f43f76e19c93a4d4b2d2f3a66763c10549b3f31f717fe3e69138c54f7519960dba8ef092cfb4c852dbd057bc0edf040a768c854e	t	2026-12-01 15:26:24.508197
2	member@example.com	scrypt:32768:8:1$nDJfDraA7JNomUTC$f798af80e2888df5c197ec36cc258ec626d60488cfb24fea2bba9449cbd59019bb59d36abd40be07cc4a114cdec68429d182f125830ccf54c47b99c5904451e7	f	2026-12-01 15:26:25.328844
\.


--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhooks (id, project_id, url, events, secret_encrypted, active, consecutive_failures, deactivated_at, deactivation_reason, created_at, updated_at) FROM stdin;
1	774	http://127.0.0.1:46349/hook	task.created,task.updated,sprint.completed	gAAAAABrDucmKM2_9cE07qOkSlodYVcJyAiJCIjExZf8-OdC_IafC6w7O795fnEtzBH1J_L6ySDU33gRBPUTVWpnl9MXghPul6rlseS_uufBhgoMsjuAmeOByq1VVQPy4HURjFe0shSzkPftCv8YEAt8HhIqOG-PHg==	t	0	\N	\N	2026-12-01 15:26:30.930742	2026-12-01 15:26:30.930742
3	775	http://127.0.0.1:46349/hook/second	task.updated,task.assignedToSprint	gAAAAABrDucmLvVcpW_uD_7Z_0DvXJD6yJCp-1ayrWJXuqZncJ6lrBxJ5Lro_rezTdIgcpY25pQjNq_4cJIiGYmIoIW1inRw-ef3xGjFnrew9b6k7fiUrWy3XEkwNL7-rUX5LaWqfgBgsf3atPpXP9IV6PC20u2UNQ==	t	0	\N	\N	2026-12-01 15:26:30.946857	2026-12-01 15:26:30.946857
4	774	http://127.0.0.1:46349/hook/off	task.deleted	gAAAAABrDucmL2kO5H9QFiflDHEzXq9H1oirGsE5vGQFlwdo0vNFhuai-NV7jy1vd50eNlCPxZ178-_nu09l-83vgKpALr78v7uCVL3eCwkx0ueG9qPXiOIvVg6yy60qb2voUCB5htsojWBgDhjtQLXRrcxwmGM9tw==	f	0	2026-12-01 15:26:30.962431	turned off by hand	2026-12-01 15:26:30.952695	2026-12-01 15:26:30.962431
2	774	http://127.0.0.1:37243/hook	task.created,time-entry.started	gAAAAABrDucmroAIb9H576KM7J_7t94Uxj063wKdE2ikchGZh0aBXBDfCLaghFfUyr_83F91H4hDidOMf6LBe936zbCyMWDbvt5BZZ0B9BMc7NPklcC3dpOPbgy1zeim9-pE-iBQPsP1ErB1ClHT9qAwLFRAgPhZCA==	t	3	\N	\N	2026-12-01 15:26:30.940594	2026-12-01 15:26:30.940594
\.


--
-- Name: api_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.api_tokens_id_seq', 3, true);


--
-- Name: deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deliveries_id_seq', 7, true);


--
-- Name: delivery_attempts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.delivery_attempts_id_seq', 14, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: webhooks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhooks_id_seq', 4, true);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: api_token_projects pk_api_token_projects; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_token_projects
    ADD CONSTRAINT pk_api_token_projects PRIMARY KEY (token_id, project_id);


--
-- Name: api_tokens pk_api_tokens; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT pk_api_tokens PRIMARY KEY (id);


--
-- Name: deliveries pk_deliveries; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT pk_deliveries PRIMARY KEY (id);


--
-- Name: delivery_attempts pk_delivery_attempts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_attempts
    ADD CONSTRAINT pk_delivery_attempts PRIMARY KEY (id);


--
-- Name: events pk_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT pk_events PRIMARY KEY (id);


--
-- Name: memberships pk_memberships; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT pk_memberships PRIMARY KEY (user_id, project_id);


--
-- Name: projects pk_projects; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT pk_projects PRIMARY KEY (id);


--
-- Name: users pk_users; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT pk_users PRIMARY KEY (id);


--
-- Name: webhooks pk_webhooks; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT pk_webhooks PRIMARY KEY (id);


--
-- Name: api_tokens uq_api_tokens_token_hash; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash);


--
-- Name: events uq_events_project_id; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT uq_events_project_id UNIQUE (project_id, idempotency_key);


--
-- Name: users uq_users_email; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT uq_users_email UNIQUE (email);


--
-- Name: ix_api_tokens_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_api_tokens_user_id ON public.api_tokens USING btree (user_id);


--
-- Name: ix_deliveries_completed_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_completed_at ON public.deliveries USING btree (completed_at);


--
-- Name: ix_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_due ON public.deliveries USING btree (next_attempt_at) WHERE ((status)::text = 'pending'::text);


--
-- Name: ix_deliveries_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_event_id ON public.deliveries USING btree (event_id);


--
-- Name: ix_deliveries_webhook_id_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_webhook_id_id ON public.deliveries USING btree (webhook_id, id);


--
-- Name: ix_deliveries_webhook_id_status_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deliveries_webhook_id_status_id ON public.deliveries USING btree (webhook_id, status, id);


--
-- Name: ix_delivery_attempts_delivery_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_delivery_attempts_delivery_id ON public.delivery_attempts USING btree (delivery_id);


--
-- Name: ix_events_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_events_created_at ON public.events USING btree (created_at);


--
-- Name: ix_webhooks_project_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhooks_project_id ON public.webhooks USING btree (project_id);


--
-- Name: api_token_projects fk_api_token_projects_project_id_projects; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_token_projects
    ADD CONSTRAINT fk_api_token_projects_project_id_projects FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;


--
-- Name: api_token_projects fk_api_token_projects_token_id_api_tokens; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_token_projects
    ADD CONSTRAINT fk_api_token_projects_token_id_api_tokens FOREIGN KEY (token_id) REFERENCES public.api_tokens(id) ON DELETE CASCADE;


--
-- Name: api_tokens fk_api_tokens_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT fk_api_tokens_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: deliveries fk_deliveries_event_id_events; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT fk_deliveries_event_id_events FOREIGN KEY (event_id) REFERENCES public.events(id) ON DELETE CASCADE;


--
-- Name: deliveries fk_deliveries_webhook_id_webhooks; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT fk_deliveries_webhook_id_webhooks FOREIGN KEY (webhook_id) REFERENCES public.webhooks(id) ON DELETE CASCADE;


--
-- Name: delivery_attempts fk_delivery_attempts_delivery_id_deliveries; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_attempts
    ADD CONSTRAINT fk_delivery_attempts_delivery_id_deliveries FOREIGN KEY (delivery_id) REFERENCES public.deliveries(id) ON DELETE CASCADE;


--
-- Name: events fk_events_project_id_projects; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT fk_events_project_id_projects FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;


--
-- Name: memberships fk_memberships_project_id_projects; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT fk_memberships_project_id_projects FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;


--
-- Name: memberships fk_memberships_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT fk_memberships_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: webhooks fk_webhooks_project_id_projects; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT fk_webhooks_project_id_projects FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict rvxBhoRKhDVelU1AV8M4YaUxcwCPuEeF6Ql1hFb9C4YiONSFRTZ611lBl9gEnG8

