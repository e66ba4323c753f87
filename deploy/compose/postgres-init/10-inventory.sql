-- Development only (docker compose): the inventory service's own database and login, created on the first start of an
-- empty volume. Production databases are provisioned outside the app (see deploy/README.md).
CREATE USER inventory PASSWORD 'inventory-dev-only';
CREATE DATABASE inventory OWNER inventory;
