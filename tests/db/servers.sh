# Shell helpers of the tests and benches that start their own servers on loopback
# (sourced by tests/db/run.sh and benches/db.sh).

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_until <seconds> <command...>: runs the command every 0.1 s until it succeeds.
wait_until() {
	n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

port_open() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$1"
}
