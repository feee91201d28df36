-- DevLake's tables for the developer_telemetry plugin as its migrations create them on MySQL with
-- the server collation of DevLake's compose file (utf8mb4_bin): TEXT JSON columns, no JSON type.
-- Statements are separated by a line holding only ";".
CREATE TABLE _tool_developer_metrics (
  connection_id bigint unsigned NOT NULL,
  developer_id varchar(255) NOT NULL,
  date date NOT NULL,
  email varchar(255) DEFAULT NULL,
  name varchar(255) DEFAULT NULL,
  hostname varchar(255) DEFAULT NULL,
  active_hours bigint DEFAULT NULL,
  git_activity text,
  development_activity text,
  tools_used text,
  project_context text,
  os_info varchar(255) DEFAULT NULL,
  created_at datetime(3) DEFAULT NULL,
  updated_at datetime(3) DEFAULT NULL,
  PRIMARY KEY (connection_id, developer_id, date),
  KEY idx__tool_developer_metrics_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE _tool_developer_telemetry_connections (
  id bigint unsigned NOT NULL AUTO_INCREMENT,
  created_at datetime(3) DEFAULT NULL,
  updated_at datetime(3) DEFAULT NULL,
  name varchar(100) DEFAULT NULL,
  endpoint varchar(255) DEFAULT NULL,
  proxy varchar(255) DEFAULT NULL,
  rate_limit_per_hour bigint DEFAULT NULL,
  secret_token text,
  PRIMARY KEY (id),
  UNIQUE KEY idx__tool_developer_telemetry_connections_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE _devlake_api_keys (
  id bigint unsigned NOT NULL AUTO_INCREMENT,
  created_at datetime(3) DEFAULT NULL,
  updated_at datetime(3) DEFAULT NULL,
  creator varchar(255) DEFAULT NULL,
  creator_email varchar(255) DEFAULT NULL,
  updater varchar(255) DEFAULT NULL,
  updater_email varchar(255) DEFAULT NULL,
  name varchar(255) DEFAULT NULL,
  api_key varchar(255) DEFAULT NULL,
  expired_at datetime(3) DEFAULT NULL,
  allowed_path varchar(255) DEFAULT NULL,
  type varchar(40) DEFAULT NULL,
  extra varchar(255) DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY idx__devlake_api_keys_api_key (api_key),
  KEY idx__devlake_api_keys_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
