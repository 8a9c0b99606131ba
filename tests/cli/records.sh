#!/usr/bin/env bash
# Golden tests of `beaconwatch records`, `formats` and the usage surface:
# exact output on small inputs, exit codes, stdin, bad input reporting.
. "$(dirname "$0")/lib.inc"

printf '#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\n1767225600.5\t10.0.0.5\t50000\t2001:db8::1\t443\ttcp\t1.25\t100\t200\tSF\n1767225660\tbad-ip\t1\t1.1.1.1\t53\tudp\t-\t-\t-\tS0\n' > "$TMP/c.log"
golden='{"ts":"2026-01-01T00:00:00.500000Z","src_ip":"10.0.0.5","src_port":50000,"dst_ip":"2001:db8::1","dst_port":443,"transport":"tcp","src_bytes":100,"dst_bytes":200,"duration_us":1250000,"host_name":null,"process_name":null,"dst_domain":null,"event_action":null,"event_category":null,"conn_state":"SF"}'
expect "records golden" "$golden" "$("$BW" records -q "$TMP/c.log")"
expect "records from stdin" "$golden" "$("$BW" records -q - < "$TMP/c.log")"
gzip -c "$TMP/c.log" > "$TMP/c.log.gz"
expect "records from gzip on stdin" "$golden" "$("$BW" records -q - < "$TMP/c.log.gz")"
expect "count" "1" "$("$BW" records --count -q "$TMP/c.log")"
"$BW" records --count "$TMP/c.log" >/dev/null 2>"$TMP/err"
expect "skip reported with file:line" "1" "$(grep -c "c.log:5: bad address" "$TMP/err")"
expect "summary line" "1" "$(grep -c "read 1 records from 1 file.*skipped 1 malformed" "$TMP/err")"
expect_rc "malformed lines are not a failure" 0 "$BW" records "$TMP/c.log"

# progress: a run that takes more than 2 s (stdin held open) reports a line
(cat "$TMP/c.log"; sleep 2.6) | "$BW" records --count - >/dev/null 2>"$TMP/err"
expect "progress line on a non-terminal" "yes" "$(grep -q '^progress: 2 s, [0-9]* records' "$TMP/err" && echo yes)"
(cat "$TMP/c.log"; sleep 2.6) | "$BW" records --count -q - >/dev/null 2>"$TMP/err"
expect "--quiet: no progress" "0" "$(grep -c progress "$TMP/err")"

echo "hello world" > "$TMP/notes.txt"
expect_rc "unsupported file" 1 "$BW" records "$TMP/notes.txt"
expect "unsupported names file and formats" "yes" "$(grep -q "notes.txt: not a supported format (tried zeek" "$TMP/err" && echo yes)"
expect_rc "missing file" 1 "$BW" records "$TMP/nope.log"
expect_rc "no input" 2 "$BW" records
expect_rc "bad format name" 2 "$BW" records --format xml "$TMP/c.log"
expect_rc "bad option" 2 "$BW" records --bogus "$TMP/c.log"
expect_rc "bad thread count" 2 "$BW" records --count -j zero "$TMP/c.log"
expect_rc "detect: bad thread count" 2 "$BW" detect -j 0 "$TMP/c.log"
expect_rc "unknown command" 2 "$BW" frobnicate
head -c 3000 /dev/urandom > "$TMP/random.bin"
expect_rc "random bytes as zeek: counted, no crash" 0 "$BW" records --format zeek "$TMP/random.bin"
for cmd in records formats detect generate; do
  expect_rc "$cmd --help" 0 "$BW" $cmd --help
done
expect_rc "top --help" 0 "$BW" --help
expect "formats lists all" "6" "$("$BW" formats | grep -cE '^(zeek|zeek-json|ecs|asim-csv|asim-json|eve) ')"
done_tests
