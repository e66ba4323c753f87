-- Development only (docker compose): the telemetry service's own database and login, created on the first start of an
-- empty volume. Production databases are provisioned outside the app (see deploy/README.md).
CREATE USER telemetry PASSWORD 'telemetry-dev-only';
CREATE DATABASE telemetry OWNER telemetry;
