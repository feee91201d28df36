-- _tool_developer_metrics as DevLake's own migration creates it on MySQL: TEXT where devtel uses JSON.
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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
