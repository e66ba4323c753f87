#!/usr/bin/env bash
# Creates (or keeps) the Secrets the dev overlay references, with random passwords: nothing secret is committed.
# Run once per cluster before `kubectl apply -k deploy/k8s/overlays/dev`; running it again keeps existing values.
set -euo pipefail
ns=contoso-retail

kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

existing() { kubectl get secret "$1" -n "$ns" -o "jsonpath={.data.$2}" 2>/dev/null | base64 -d || true; }
random() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
secret() { kubectl create secret generic "$1" -n "$ns" "${@:2}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null; echo "secret/$1"; }

password="$(existing postgres password)"
password="${password:-$(random)}"
client_secret="$(existing orders-client client-secret)"
client_secret="${client_secret:-$(random)}"

# The dev database runs as its superuser; each service's database is created by its migrations on first start.
secret postgres --from-literal=password="$password"
secret inventory-database --from-literal=connection-string="Host=postgres;Database=inventory;Username=postgres;Password=$password"
secret orders-database --from-literal=connection-string="Host=postgres;Database=orders;Username=postgres;Password=$password"
# Orders' client credentials at your identity provider (Auth:ClientId / Auth:ClientSecret); replace with real ones.
secret orders-client --from-literal=client-id=orders --from-literal=client-secret="$client_secret"
#if (IncludeTelemetry)
secret telemetry-database --from-literal=connection-string="Host=postgres;Database=telemetry;Username=postgres;Password=$password"
#endif
