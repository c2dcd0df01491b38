-- services.sql - sample records for the sql_sqlite backends of tged.conf.
--
-- tged.conf loads this file into an in-memory SQLite database at start
-- (init_sql), and again whenever it changes: edit it and the records are
-- served at once. Point a backend's `database` at a real SQLite file to
-- serve what another program writes there; docs/backends/sql.md has the
-- same schema for PostgreSQL and MariaDB.

-- Services: `tged SSH` asks for every SSH server, `tged SSH HOST=bastion`
-- for one of them.
CREATE TABLE services (
    type     TEXT NOT NULL,           -- what a client asks for (RQ)
    host     TEXT NOT NULL,
    fqdn     TEXT,
    ip       TEXT NOT NULL,
    port     INTEGER,
    user     TEXT,                    -- NULL: no USER field in the answer
    priority INTEGER NOT NULL DEFAULT 10
);
CREATE INDEX services_type ON services (type, host);

INSERT INTO services (type, host, fqdn, ip, port, user, priority) VALUES
    ('SSH',    'gateway', 'gateway.example.com', '192.168.0.1',  22,   'admin',  10),
    ('SSH',    'bastion', 'bastion.example.com', '192.168.0.2',  2222, NULL,     20),
    ('NAS',    'vault',   'vault.example.com',   '192.168.0.80', 445,  'backup', 10),
    ('PGSQL',  'ledger',  'ledger.example.com',  '192.168.0.35', 5432, 'tged',   10),
    ('BACKUP', 'vault',   'vault.example.com',   '192.168.0.80', 873,  'rsync',  10);

-- DHCP reservations: the fixed address and the MAC address of a machine,
-- what a wake-on-LAN script asks for: `tged RESERVATION HOST=vault`, or
-- `tged RESERVATION MAC=52:54:00:12:34:80` to know whose card it is.
CREATE TABLE dhcp_reservations (
    mac      TEXT NOT NULL PRIMARY KEY,   -- lower case, colon-separated
    host     TEXT NOT NULL,
    ip       TEXT NOT NULL UNIQUE,
    comment  TEXT
);
CREATE INDEX dhcp_reservations_host ON dhcp_reservations (host COLLATE NOCASE);

INSERT INTO dhcp_reservations (mac, host, ip, comment) VALUES
    ('52:54:00:12:34:01', 'gateway', '192.168.0.1',  NULL),
    ('52:54:00:12:34:02', 'bastion', '192.168.0.2',  NULL),
    ('52:54:00:12:34:35', 'ledger',  '192.168.0.35', 'database server'),
    ('52:54:00:12:34:80', 'vault',   '192.168.0.80', 'wake me for backups');
