#!/bin/sh
# Installs the Debian packages Nameplate builds and tests with, when any is missing.
# Runs as root (CI, a fresh machine) or through sudo; does nothing when all are present.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
scdoc man-db groff-base
libsqlite3-dev sqlite3 libmicrohttpd-dev liburcu-dev libsodium-dev libcurl4-openssl-dev
libjansson-dev libinih-dev libcmocka-dev libminiupnpc-dev libpcap-dev liboath-dev libqrencode-dev libssl-dev
python3-pytest python3-pytest-xdist python3-dnspython python3-aiosmtpd python3-jsonschema wrk
chromium chromium-driver python3-selenium
bind9-dnsutils bind9 bind9-utils ldnsutils dnsviz python3-pygraphviz knot-dnsutils ddclient inadyn nsd knot dnsperf curl iproute2 procps nmap miniupnpc
miniupnpd-nftables nftables
oathtool zbar-tools librsvg2-bin python3-argon2 prometheus strace faketime
pebble lego certbot python3-certbot-dns-rfc2136"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# ddclient, nsd, knot and bind9 ship services; keep their post-install steps from starting them.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get install -y -qq --no-install-recommends $missing
$SUDO rm -f /usr/sbin/policy-rc.d
