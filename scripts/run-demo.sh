#!/bin/sh
# SPDX-License-Identifier: MIT
# Starts the demo system from ./var (called by `make run`): nameplated, a honeypot sensor on
# loopback and a mail sink that prints what the server sends (check results, owner alerts)
# to ./var/mail.log. Writes ./var/nameplate.conf and ./var/sensor.conf when missing, sets
# up an admin secret, user "demo", host home.dyn.example and the sensor's token on the first
# run, prints how to use it, then runs the server in the foreground; Ctrl-C stops all three.
#
# usage: scripts/run-demo.sh BUILD_DIR
# The ports can be moved with NP_DEMO_DNS_PORT (5353), NP_DEMO_HTTP_PORT (8053),
# NP_DEMO_SMTP_PORT (8025), NP_DEMO_TELNET_PORT (2323) and NP_DEMO_PLAIN_PORT (37215).
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
SMTP_PORT=${NP_DEMO_SMTP_PORT:-8025}
TELNET_PORT=${NP_DEMO_TELNET_PORT:-2323}
# The plain honeypot listens where Mirai's Huawei exploit knocks (37215).
PLAIN_PORT=${NP_DEMO_PLAIN_PORT:-37215}
SENSOR="$BUILD/nameplate-sensor"
PYTHON=/usr/bin/python3
VAR=./var
CONF="$VAR/nameplate.conf"
SENSOR_CONF="$VAR/sensor.conf"
HOST=home.dyn.example
USER_NAME=demo
MARK="$VAR/.demo-ready" # written once the first-run set-up has fully succeeded

for b in "$CTL" "$SERVER" "$SENSOR"; do
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

[check]
public_url = http://127.0.0.1:$HTTP_PORT
owner_interval = 60

[mail]
relay = smtp://127.0.0.1:$SMTP_PORT
from = nameplate@dyn.example
tls = none
retry_min = 5

[accounts]
# anyone may sign up on the web UI; the confirmation mail lands in var/mail.log
signup = open

[zone dyn.example]
ns = ns1.dyn.example
contact = hostmaster.dyn.example
ttl = 60
# signed online (docs/dnssec.md); the DS for a parent: nameplatectl zone ds dyn.example
dnssec = on
EOF
	echo "run-demo: wrote $CONF"
fi

"$CTL" -c "$CONF" check-config

secret=""
password=""
if [ ! -f "$MARK" ]; then
	echo "== first start: creating the admin secret, user '$USER_NAME' and host $HOST"
	# init refuses (exit 1) when a half-finished earlier run already did it
	"$CTL" -c "$CONF" init || echo "run-demo: already initialised, continuing"
	# The web UI password: random, shown once (there are no default credentials).
	password=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
	printf '%s\n' "$password" | "$CTL" -c "$CONF" user add "$USER_NAME" --password-stdin ||
		printf '%s\n' "$password" |
		"$CTL" -c "$CONF" user password "$USER_NAME" --password-stdin
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
	# A TSIG key for nsupdate/knsupdate (RFC 2136), scoped to the demo host: the key file
	# nameplatectl prints is kept where only we can read it.
	"$CTL" -c "$CONF" tsig del demo-key 2>/dev/null || true
	(umask 077 && "$CTL" -c "$CONF" tsig add demo-key --user "$USER_NAME" --name "$HOST" \
		>"$VAR/demo-key.key")
	# The sensor's token: shown once by nameplatectl, kept where only we can read it.
	"$CTL" -c "$CONF" sensor del demo-sensor 2>/dev/null || true
	(umask 077 && "$CTL" -c "$CONF" sensor add demo-sensor >"$VAR/sensor.token")
	: >"$MARK"
fi

# The zone's DNSSEC keys (made now if the zone has none) and its DS, which a validator
# takes as its trust anchor in place of a parent's delegation.
if grep -q '^dnssec = on' "$CONF"; then
	"$CTL" -c "$CONF" zone keys dyn.example >/dev/null
	"$CTL" -c "$CONF" zone ds dyn.example |
		awk '{ printf "%s static-ds %s %s %s \"%s\";\n", $1, $4, $5, $6, $7 }' |
		{ echo "trust-anchors {"; cat; echo "};"; } >"$VAR/dnssec-anchor.conf"
fi

if [ ! -f "$SENSOR_CONF" ]; then
	# Root must name a user to drop to; anyone else runs the sensor as themselves.
	sensor_user=""
	[ "$(id -u)" -eq 0 ] && sensor_user=nobody
	cat >"$SENSOR_CONF" <<EOF
# Nameplate demo sensor (written by scripts/run-demo.sh): honeypots on loopback only.
[sensor]
server = http://127.0.0.1:$HTTP_PORT
token_file = $(pwd)/var/sensor.token
spool_dir = $(pwd)/var/sensor-spool
user = $sensor_user
batch_interval = 2

[telnet]
listen = 127.0.0.1:$TELNET_PORT

[plain]
listen = 127.0.0.1:$PLAIN_PORT
EOF
	echo "run-demo: wrote $SENSOR_CONF"
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
echo "or with RFC 2136 and the TSIG key in var/demo-key.key (docs/dns-update.md):"
printf '%s\n' "  printf 'server 127.0.0.1 $DNS_PORT\\nupdate delete $HOST A\\nupdate add $HOST 60 A 203.0.113.11\\nsend\\n' | nsupdate -k var/demo-key.key"
echo "query it:"
echo "  dig @127.0.0.1 -p $DNS_PORT $HOST A"
if [ -f "$VAR/dnssec-anchor.conf" ]; then
	echo "and validate its signature (DNSSEC) with the zone's DS as the trust anchor:"
	echo "  delv -a var/dnssec-anchor.conf @127.0.0.1 -p $DNS_PORT +root=dyn.example $HOST A"
fi
echo
echo "web UI: http://127.0.0.1:$HTTP_PORT/ (hosts, records, history, tokens, two-factor sign-in)"
if [ -n "$password" ]; then
	echo "   sign in as $USER_NAME with the password: $password"
	echo "   (shown only now; a new one: $CTL -c $CONF user password $USER_NAME --password-stdin)"
else
	echo "   sign in as $USER_NAME (the password was shown on the first start; a new one:"
	echo "   $CTL -c $CONF user password $USER_NAME --password-stdin)"
fi
echo "   anyone may sign up there; the confirmation mail lands in var/mail.log"
echo "REST API (docs/api.md): http://127.0.0.1:$HTTP_PORT/api/v1/openapi.json"
echo "report abuse of a name: http://127.0.0.1:$HTTP_PORT/abuse (the queue: /admin/abuse,"
echo "   or $CTL -c $CONF abuse list)"
echo
echo "am I infected? open http://127.0.0.1:$HTTP_PORT/check in a browser; the mail with the"
echo "result link lands in var/mail.log. To have something to find, log in to the honeypot"
echo "with Mirai's default passwords first (root / xc3511, then root / vizxv, ...):"
echo "  telnet 127.0.0.1 $TELNET_PORT"
echo
echo "== starting nameplated (DNS 127.0.0.1@$DNS_PORT, HTTP 127.0.0.1:$HTTP_PORT), the sensor"
echo "   (var/sensor.log) and the mail sink (127.0.0.1:$SMTP_PORT, var/mail.log); Ctrl-C stops them"

# The mail sink and the sensor run beside the server and stop with it.
pids=""
stop() {
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null
	pids=""
}
trap 'stop; exit 0' INT TERM
trap stop EXIT
"$PYTHON" -m aiosmtpd -n -c aiosmtpd.handlers.Debugging -l "127.0.0.1:$SMTP_PORT" \
	>>"$VAR/mail.log" 2>&1 &
pids="$!"
"$SERVER" -c "$CONF" -f &
server_pid=$!
pids="$pids $server_pid"
"$SENSOR" -c "$SENSOR_CONF" 2>>"$VAR/sensor.log" &
pids="$pids $!"
wait "$server_pid"
