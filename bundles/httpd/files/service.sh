#!/bin/sh
# Sample service: busybox httpd on loopback in its own network namespace,
# with a client polling it; runs until stopped.
ip link set lo up
httpd -f -p 127.0.0.1:8080 -h /www &
trap 'kill $!; exit 0' TERM INT
while :; do
	wget -q -O /dev/null http://127.0.0.1:8080/index.html
	sleep 1
done
