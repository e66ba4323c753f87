-- Development only (docker compose): the orders service's own database and login, created on the first start of an
-- empty volume. Production databases are provisioned outside the app (see deploy/README.md).
CREATE USER orders PASSWORD 'orders-dev-only';
CREATE DATABASE orders OWNER orders;
