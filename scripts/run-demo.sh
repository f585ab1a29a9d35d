#!/bin/sh
# SPDX-License-Identifier: MIT
# Starts a demo nameplated from ./var (called by `make run`): writes ./var/nameplate.conf when
# missing, sets up an admin secret, user "demo" and host home.dyn.example on the first run,
# prints how to update and query it, then runs the server in the foreground.
#
# usage: scripts/run-demo.sh BUILD_DIR
# The ports can be moved with NP_DEMO_DNS_PORT (5353) and NP_DEMO_HTTP_PORT (8053).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$1
CTL="$BUILD/nameplatectl"
SERVER="$BUILD/nameplated"
DNS_PORT=${NP_DEMO_DNS_PORT:-5353}
HTTP_PORT=${NP_DEMO_HTTP_PORT:-8053}
VAR=./var
CONF="$VAR/nameplate.conf"
HOST=home.dyn.example
USER_NAME=demo
MARK="$VAR/.demo-ready" # written once the first-run set-up has fully succeeded

for b in "$CTL" "$SERVER"; do
	if [ ! -x "$b" ]; then
		echo "run-demo: $b is not built (run make first)" >&2
		exit 1
	fi
done

mkdir -p "$VAR"
if [ ! -f "$CONF" ]; then
	# absolute, so it does not matter what relative paths are resolved against
	data_dir="$(pwd)/var/data"
	cat >"$CONF" <<EOF
# Nameplate demo configuration (written by scripts/run-demo.sh; edit freely).
[server]
data_dir = $data_dir

[dns]
listen = 127.0.0.1@$DNS_PORT
workers = 2

[http]
listen = 127.0.0.1:$HTTP_PORT

[zone dyn.example]
ns = ns1.dyn.example
contact = hostmaster.dyn.example
ttl = 60
EOF
	echo "run-demo: wrote $CONF"
fi

"$CTL" -c "$CONF" check-config

secret=""
if [ ! -f "$MARK" ]; then
	echo "== first start: creating the admin secret, user '$USER_NAME' and host $HOST"
	# init refuses (exit 1) when a half-finished earlier run already did it
	"$CTL" -c "$CONF" init || echo "run-demo: already initialised, continuing"
	"$CTL" -c "$CONF" user add "$USER_NAME" ||
		echo "run-demo: user $USER_NAME exists, continuing"
	if out=$("$CTL" -c "$CONF" host add "$HOST" --user "$USER_NAME"); then
		:
	else
		# the host exists from a half-finished run: its secret was never shown, issue one
		out=$("$CTL" -c "$CONF" host secret "$HOST")
	fi
	secret=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1)
	if [ -z "$secret" ]; then
		echo "run-demo: nameplatectl printed no host secret" >&2
		exit 1
	fi
	: >"$MARK"
fi

echo
echo "== demo host: $HOST (user $USER_NAME)"
if [ -n "$secret" ]; then
	echo "   update secret: $secret"
	echo "   (shown only now; store it. A new one: $CTL -c $CONF host secret $HOST)"
	show=$secret
else
	echo "   the update secret was shown on the first start; to issue a new one (the old"
	echo "   one stops working): $CTL -c $CONF host secret $HOST"
	show=SECRET
fi
echo
echo "update it:"
echo "  curl -A 'nameplate-demo/1.0' -u '$USER_NAME:$show' 'http://127.0.0.1:$HTTP_PORT/nic/update?hostname=$HOST&myip=203.0.113.10'"
echo "query it:"
echo "  dig @127.0.0.1 -p $DNS_PORT $HOST A"
echo
echo "== starting nameplated (DNS 127.0.0.1@$DNS_PORT, HTTP 127.0.0.1:$HTTP_PORT); Ctrl-C stops it"
exec "$SERVER" -c "$CONF" -f
