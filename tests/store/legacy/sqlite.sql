-- The AIR schema as the pre-Alembic runner (tasks/store/migrations.py, migration 1)
-- created it on sqlite: test data for the legacy upgrade, never run by air itself.

CREATE TABLE schema_version (
	version INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	applied_at DATETIME NOT NULL,
	PRIMARY KEY (version)
);

CREATE TABLE users (
	id INTEGER NOT NULL,
	email VARCHAR(320) NOT NULL,
	name VARCHAR(200),
	timezone VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_users PRIMARY KEY (id),
	CONSTRAINT uq_users_email UNIQUE (email)
);

CREATE TABLE alerts (
	id INTEGER NOT NULL,
	severity VARCHAR(16) NOT NULL,
	title VARCHAR(300) NOT NULL,
	body TEXT NOT NULL,
	dedup_key VARCHAR(255),
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_alerts PRIMARY KEY (id),
	CONSTRAINT uq_alerts_dedup_key UNIQUE (dedup_key)
);

CREATE TABLE analytics_snapshots (
	day DATE NOT NULL,
	metrics JSON NOT NULL,
	computed_at DATETIME NOT NULL,
	CONSTRAINT pk_analytics_snapshots PRIMARY KEY (day)
);

CREATE TABLE backups (
	id INTEGER NOT NULL,
	path TEXT NOT NULL,
	size_bytes BIGINT NOT NULL,
	checksum VARCHAR(128) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_backups PRIMARY KEY (id),
	CONSTRAINT uq_backups_path UNIQUE (path)
);

CREATE TABLE contacts (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	name VARCHAR(200),
	email VARCHAR(320),
	email_normalized VARCHAR(320),
	phone VARCHAR(64),
	phone_normalized VARCHAR(32),
	company VARCHAR(200),
	merged_into INTEGER,
	last_touch_at DATETIME,
	next_touch_at DATETIME,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_contacts PRIMARY KEY (id),
	CONSTRAINT fk_contacts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_contacts_merged_into_contacts FOREIGN KEY(merged_into) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE INDEX ix_contacts_merged_into ON contacts (merged_into);

CREATE INDEX ix_contacts_user_id_email_normalized ON contacts (user_id, email_normalized);

CREATE INDEX ix_contacts_user_id ON contacts (user_id);

CREATE INDEX ix_contacts_user_id_phone_normalized ON contacts (user_id, phone_normalized);

CREATE TABLE integrations (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	kind VARCHAR(32) NOT NULL,
	provider VARCHAR(64) NOT NULL,
	source TEXT,
	token_endpoint TEXT,
	client_id VARCHAR(255),
	client_secret_env VARCHAR(128),
	access_token TEXT,
	refresh_token TEXT,
	expires_at DATETIME,
	status VARCHAR(16) NOT NULL,
	last_error TEXT,
	sync_cursor TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_integrations PRIMARY KEY (id),
	CONSTRAINT fk_integrations_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_integrations_expires_at ON integrations (expires_at);

CREATE INDEX ix_integrations_user_id ON integrations (user_id);

CREATE TABLE oauth_states (
	state VARCHAR(128) NOT NULL,
	user_id INTEGER,
	provider VARCHAR(64),
	created_at DATETIME NOT NULL,
	expires_at DATETIME NOT NULL,
	CONSTRAINT pk_oauth_states PRIMARY KEY (state),
	CONSTRAINT fk_oauth_states_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_oauth_states_user_id ON oauth_states (user_id);

CREATE INDEX ix_oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE notifications (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	channel VARCHAR(32) NOT NULL,
	payload JSON NOT NULL,
	dedup_key VARCHAR(255),
	status VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT,
	created_at DATETIME NOT NULL,
	delivered_at DATETIME,
	CONSTRAINT pk_notifications PRIMARY KEY (id),
	CONSTRAINT uq_notifications_user_id_channel_dedup_key UNIQUE (user_id, channel, dedup_key),
	CONSTRAINT fk_notifications_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_notifications_user_id ON notifications (user_id);

CREATE TABLE alert_deliveries (
	alert_id INTEGER NOT NULL,
	channel VARCHAR(32) NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT,
	delivered_at DATETIME,
	CONSTRAINT pk_alert_deliveries PRIMARY KEY (alert_id, channel),
	CONSTRAINT fk_alert_deliveries_alert_id_alerts FOREIGN KEY(alert_id) REFERENCES alerts (id) ON DELETE CASCADE
);

CREATE TABLE exports (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	status VARCHAR(16) NOT NULL,
	paths JSON NOT NULL,
	error TEXT,
	created_at DATETIME NOT NULL,
	finished_at DATETIME,
	CONSTRAINT pk_exports PRIMARY KEY (id),
	CONSTRAINT fk_exports_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_exports_user_id ON exports (user_id);

CREATE TABLE contact_tags (
	contact_id INTEGER NOT NULL,
	tag VARCHAR(100) NOT NULL,
	CONSTRAINT pk_contact_tags PRIMARY KEY (contact_id, tag),
	CONSTRAINT fk_contact_tags_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE TABLE interactions (
	id INTEGER NOT NULL,
	contact_id INTEGER NOT NULL,
	integration_id INTEGER,
	kind VARCHAR(16) NOT NULL,
	direction VARCHAR(8),
	occurred_at DATETIME NOT NULL,
	subject TEXT,
	body TEXT,
	source_id VARCHAR(512),
	features JSON,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_interactions PRIMARY KEY (id),
	CONSTRAINT uq_interactions_integration_id_source_id UNIQUE (integration_id, source_id),
	CONSTRAINT fk_interactions_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE,
	CONSTRAINT fk_interactions_integration_id_integrations FOREIGN KEY(integration_id) REFERENCES integrations (id) ON DELETE SET NULL
);

CREATE INDEX ix_interactions_contact_id ON interactions (contact_id);

CREATE INDEX ix_interactions_integration_id ON interactions (integration_id);

CREATE INDEX ix_interactions_occurred_at ON interactions (occurred_at);

CREATE TABLE meetings (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	integration_id INTEGER,
	uid VARCHAR(512) NOT NULL,
	starts_at DATETIME NOT NULL,
	ends_at DATETIME NOT NULL,
	title TEXT,
	location TEXT,
	description TEXT,
	attendees JSON NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	CONSTRAINT pk_meetings PRIMARY KEY (id),
	CONSTRAINT uq_meetings_integration_id_uid UNIQUE (integration_id, uid),
	CONSTRAINT fk_meetings_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_meetings_integration_id_integrations FOREIGN KEY(integration_id) REFERENCES integrations (id) ON DELETE SET NULL
);

CREATE INDEX ix_meetings_user_id ON meetings (user_id);

CREATE INDEX ix_meetings_starts_at ON meetings (starts_at);

CREATE INDEX ix_meetings_integration_id ON meetings (integration_id);

CREATE TABLE generated_messages (
	id INTEGER NOT NULL,
	contact_id INTEGER NOT NULL,
	purpose VARCHAR(64) NOT NULL,
	draft TEXT NOT NULL,
	provider VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_generated_messages PRIMARY KEY (id),
	CONSTRAINT uq_generated_messages_contact_id_purpose UNIQUE (contact_id, purpose),
	CONSTRAINT fk_generated_messages_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE INDEX ix_generated_messages_contact_id ON generated_messages (contact_id);

CREATE TABLE contact_analyses (
	contact_id INTEGER NOT NULL,
	kind VARCHAR(32) NOT NULL,
	results JSON NOT NULL,
	provider VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_contact_analyses PRIMARY KEY (contact_id, kind),
	CONSTRAINT fk_contact_analyses_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE TABLE relationship_scores (
	contact_id INTEGER NOT NULL,
	score FLOAT NOT NULL,
	recency FLOAT NOT NULL,
	frequency FLOAT NOT NULL,
	computed_at DATETIME NOT NULL,
	CONSTRAINT pk_relationship_scores PRIMARY KEY (contact_id),
	CONSTRAINT fk_relationship_scores_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE TABLE health_checks (
	id INTEGER NOT NULL,
	integration_id INTEGER NOT NULL,
	status VARCHAR(16) NOT NULL,
	detail TEXT,
	checked_at DATETIME NOT NULL,
	CONSTRAINT pk_health_checks PRIMARY KEY (id),
	CONSTRAINT fk_health_checks_integration_id_integrations FOREIGN KEY(integration_id) REFERENCES integrations (id) ON DELETE CASCADE
);

CREATE INDEX ix_health_checks_integration_id ON health_checks (integration_id);

CREATE INDEX ix_health_checks_checked_at ON health_checks (checked_at);

CREATE TABLE briefings (
	id INTEGER NOT NULL,
	meeting_id INTEGER NOT NULL,
	content TEXT NOT NULL,
	provider VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_briefings PRIMARY KEY (id),
	CONSTRAINT uq_briefings_meeting_id UNIQUE (meeting_id),
	CONSTRAINT fk_briefings_meeting_id_meetings FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE
);

CREATE TABLE interaction_analyses (
	interaction_id INTEGER NOT NULL,
	kind VARCHAR(32) NOT NULL,
	results JSON NOT NULL,
	provider VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	CONSTRAINT pk_interaction_analyses PRIMARY KEY (interaction_id, kind),
	CONSTRAINT fk_interaction_analyses_interaction_id_interactions FOREIGN KEY(interaction_id) REFERENCES interactions (id) ON DELETE CASCADE
);

INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'create the AIR schema', '2026-01-01 00:00:00');
