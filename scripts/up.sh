#!/usr/bin/env bash
# Bring up a working machine on a fresh Debian host: install what is needed, build the tool and the
# boot2docker ISO (cached outside the clone), then `machine create` with the platform's default
# driver and print how to use it.   scripts/up.sh [NAME] [create flags, e.g. --qemu-memory 2048]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash iso/build.sh >/dev/null
name=default
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then name=$1; shift; fi
if ./bin/machine status "$name" >/dev/null 2>&1; then
  echo "Machine \"$name\" exists already; starting it if needed."
  [ "$(./bin/machine status "$name")" = Running ] || ./bin/machine start "$name"
else
  ./bin/machine create "$@" "$name"
fi
cat <<EOT

Your machine "$name" is ready. Point the docker CLI at it:
    eval "\$($PWD/bin/machine env $name)"
    docker run --rm hello-world
Other commands: $PWD/bin/machine ls | ssh $name | stop $name | start $name | rm $name
EOT
