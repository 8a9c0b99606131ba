#!/usr/bin/env bash
# Configuration files: the shipped default file round-trips through
# config --print; file < --set precedence; unknown keys, bad values and
# bad YAML are usage errors naming file:line and the key.
. "$(dirname "$0")/lib.inc"
SRC=${BW_SRC:-$(dirname "$0")/../..}

expect_rc "print defaults" 0 "$BW" config --print
"$BW" config --print > "$TMP/a.yaml"
"$BW" config --print --config "$TMP/a.yaml" | tail -n +2 > "$TMP/b.yaml"
expect "print round-trips through --config" "" "$(tail -n +2 "$TMP/a.yaml" | diff - "$TMP/b.yaml")"
expect_rc "shipped config/beaconwatch.yaml loads" 0 "$BW" config --print --config "$SRC/config/beaconwatch.yaml"
"$BW" config --print --config "$SRC/config/beaconwatch.yaml" | tail -n +2 > "$TMP/c.yaml"
expect "shipped file equals the defaults" "" "$(diff "$TMP/b.yaml" "$TMP/c.yaml" | grep -v threads | grep '^[<>]')"

printf 'elastic:\n  time_bucket_length: 300\n  internal: [10.0.0.0/8, fd00::/8]\nsentinel:\n  percent_beacon_threshold: 90\n' > "$TMP/f.yaml"
out=$("$BW" config --print --config "$TMP/f.yaml" --set elastic.time_bucket_length=120)
expect "file value applied" "1" "$(grep -c 'percent_beacon_threshold: 90' <<<"$out")"
expect "--set beats file" "1" "$(grep -c 'time_bucket_length: 120' <<<"$out")"
expect "sequence joined" "1" "$(grep -c 'internal: "10.0.0.0/8,fd00::/8"' <<<"$out")"
expect "preset untouched by sentinel section" "1" "$(grep -c 'percent_beacon_threshold: 95' <<<"$out")"

printf 'elastic:\n  time_bucket_lenght: 30\n' > "$TMP/bad.yaml"
expect_rc "unknown key" 2 "$BW" config --print --config "$TMP/bad.yaml"
expect "unknown key named with file:line" "1" "$(grep -c "bad.yaml:2: elastic: unknown parameter 'time_bucket_lenght'" "$TMP/err")"
printf 'sentinel:\n  total_events_threshold: -3\n' > "$TMP/bad.yaml"
expect_rc "bad value" 2 "$BW" config --print --config "$TMP/bad.yaml"
expect "bad value names key" "1" "$(grep -c "bad.yaml:2:.*total_events_threshold" "$TMP/err")"
printf 'elastick:\n  x: 1\n' > "$TMP/bad.yaml"
expect_rc "unknown section" 2 "$BW" config --print --config "$TMP/bad.yaml"
expect "unknown section named" "1" "$(grep -c "unknown section 'elastick'" "$TMP/err")"
printf 'elastic:\n  max_jitter: [0.1\n' > "$TMP/bad.yaml"
expect_rc "YAML syntax error" 2 "$BW" config --print --config "$TMP/bad.yaml"
printf 'ingest:\n  threads: many\n' > "$TMP/bad.yaml"
expect_rc "bad ingest value" 2 "$BW" config --print --config "$TMP/bad.yaml"
expect_rc "missing file" 2 "$BW" config --print --config "$TMP/none.yaml"
expect_rc "--set unknown rule" 2 "$BW" config --print --set nosuch.x=1
expect_rc "--set bad shape" 2 "$BW" config --print --set elastic
expect_rc "detect rejects bad --set" 2 "$BW" detect --rule elastic --set elastic.max_jitter=2 "$TMP/a.yaml"
done_tests
