#!/usr/bin/env bash
# Starts the local servers the plugin tests use, if one is down. Each command is the one the
# machine itself uses to start that server; nothing is installed here.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then return 0; fi
  echo "services: $name is down on port $port, starting it"
  "$@" >/dev/null 2>&1 || echo "services: could not start $name ($*)"
  for _ in $(seq 1 30); do port_open "$port" && return 0; sleep 1; done
  echo "services: $name still not listening on $port"
}

ensure postgresql 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure mariadb 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
ensure rabbitmq 5672 rabbitmq-server -detached
ensure mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
ensure nats 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
exit 0
