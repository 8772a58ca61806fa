#!/usr/bin/env bats
# What a newcomer reads: the man pages, the completion and the sample
# configuration made from the option table, and make install putting them
# where man, bash and systemd look; README's first screen.  (The option table
# itself, --help and the usage errors: tests/unit/test_cli.c.)

load test_helper

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

@test "man pages: sfagent(8) from the option table, sfhook(8), sfagent-filters(7) pass mandoc -T lint and render" {
	"$SFAGENT" --doc man >"$T/sfagent.8"
	for page in "$T/sfagent.8" "$SF_TOP/docs/sfhook.8"; do
		run mandoc -T lint -W warning "$page"
		assert_success
		assert_output ""
		run env MANWIDTH=80 man -l "$page"
		assert_success
	done
	# sfagent-filters(7): docs/filters.md converted
	python3 "$SF_TOP/docs/md2man.py" sfagent-filters 7 Misc <"$SF_TOP/docs/filters.md" >"$T/sfagent-filters.7"
	run mandoc -T lint -W warning "$T/sfagent-filters.7"
	assert_output ""
	run env MANWIDTH=80 man -l "$T/sfagent-filters.7"
	assert_output --partial "[priority >= 300]"
	run env MANWIDTH=80 man -l "$T/sfagent.8"
	assert_output --partial "sfagent-filters(7)"
	assert_output --partial "--mqtt-drain-timeout"
	assert_output --partial "SFAGENT_BUNDLES"
	assert_output --partial "EXIT STATUS"
}

@test "sfhook(8) names every option and stage of sfhook --help, and its limits" {
	run env MANWIDTH=200 man -l "$SF_TOP/docs/sfhook.8"
	assert_success
	page=$output
	run "$SFHOOK" --help
	for word in $(grep -o -- '--[a-z-]*' <<<"$output" | sort -u) prestart createRuntime poststop \
		io.sfagent.export io.sfagent.format io.sfagent.workload io.sfagent.fail; do
		grep -q -- "$word" <<<"$page" || { echo "sfhook(8) lacks $word" >&2; return 1; }
	done
	grep -q "60000" <<<"$page"
}

@test "bash completion: option names and the values the table knows" {
	"$SFAGENT" --doc bash-completion >"$T/sfagent.bash"
	run bash -c "source '$T/sfagent.bash'
		COMP_WORDS=(sfagent --mqtt-q); COMP_CWORD=1; _sfagent; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(sfagent -F ''); COMP_CWORD=2; _sfagent; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(sfagent --mqtt-qos ''); COMP_CWORD=2; _sfagent; echo \"\${COMPREPLY[*]}\"
		complete -p sfagent"
	assert_success
	assert_line --index 0 "--mqtt-qos"
	assert_line --index 1 "json quixote cadets sysflow"
	assert_line --index 2 "0 1"
	assert_line --index 3 "complete -F _sfagent sfagent"
}

@test "make install: binaries, man pages, completion, the unit and /etc/default/sfagent, which matches the unit" {
	run make -s -C "$SF_TOP" install DESTDIR="$T/root" PREFIX=/usr/local
	assert_success
	for f in usr/local/bin/sfagent usr/local/libexec/sfagent/sfhook \
		usr/local/share/man/man8/sfagent.8 usr/local/share/man/man8/sfhook.8 \
		usr/local/share/man/man7/sfagent-filters.7 \
		usr/local/share/bash-completion/completions/sfagent etc/default/sfagent \
		usr/local/lib/systemd/system/sfagent.service; do
		[ -s "$T/root/$f" ] || { echo "not installed: $f" >&2; return 1; }
	done
	unit="$T/root/usr/local/lib/systemd/system/sfagent.service"
	def="$T/root/etc/default/sfagent"
	grep -qx 'EnvironmentFile=-/etc/default/sfagent' "$unit"
	# the command line the sample says the unit runs is the unit's
	exec_line=$(sed -n 's|^ExecStart=/usr/local/bin/||p' "$unit")
	grep -qxF "#   $exec_line" "$def"
	# every line a comment, and sh reads it (systemd's EnvironmentFile syntax)
	run grep -v '^#' "$def"
	assert_output ""
	sh -n "$def"
	# every option -D takes is in it: each one listed is one sfagent -D accepts
	for opt in $(grep -o -- '^#  *\(-[a-zA-Z], \)\?--[a-z-]*' "$def" | grep -o -- '--[a-z-]*'); do
		grep -q -- "$opt" <<<"$("$SFAGENT" --help)"
	done
	grep -q -- "--topic-template" "$def"
	! grep -q -- "--output FILE" "$def"
	# an admin's configuration is never overwritten
	echo 'SFAGENT_OPTS="-e mine"' >"$def"
	run make -s -C "$SF_TOP" install DESTDIR="$T/root" PREFIX=/usr/local
	assert_success
	assert_equal "$(cat "$def")" 'SFAGENT_OPTS="-e mine"'
}

@test "README's first screen: make install, where the binaries are, the exit status of -w" {
	run head -30 "$SF_TOP/README.md"
	assert_output --partial "make install"
	assert_output --partial "build/sfagent"
	assert_output --partial "build/sfhook"
	run grep -A4 "^Exit status:" "$SF_TOP/README.md"
	assert_output --partial "-w NAME"
}
