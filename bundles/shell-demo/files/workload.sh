#!/bin/sh
# Sample workload: a little file, process and network activity, then exit.
ip link set lo up
echo "hello from shell-demo" > /tmp/greeting
cat /tmp/greeting
mkdir -p /tmp/work
cp /tmp/greeting /tmp/work/copy
mv /tmp/work/copy /tmp/work/moved
ln -s /tmp/work/moved /tmp/work/link
chmod 600 /tmp/work/moved
rm -r /tmp/work /tmp/greeting
# a listener and a client on loopback inside the container's network namespace
nc -l -p 7000 > /dev/null &
# the listener may need a moment to start on a loaded machine: retry
for try in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	sleep 0.2
	echo ping | nc -w 1 127.0.0.1 7000 && break
done
wait
sleep 30 &
kill $!
exit 0
