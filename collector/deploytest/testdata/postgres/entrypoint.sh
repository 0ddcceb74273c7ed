#!/bin/sh
# Initialises $PGDATA on the first start the way the official image does
# (a superuser POSTGRES_USER with POSTGRES_PASSWORD, a database
# POSTGRES_DB, password authentication over TCP), then runs PostgreSQL as
# the postgres user.
set -e
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pw=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"$pw"
	chown postgres "$pw"
	as_postgres initdb -D "$PGDATA" -U "$user" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pw"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	if [ "$db" != postgres ]; then
		as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
		as_postgres psql -q -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
		as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	fi
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*'
