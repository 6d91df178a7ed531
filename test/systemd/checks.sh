# Checks of test/systemd/run.sh, sourced by it. Each prints a short note
# on success and returns non-zero with the reason on failure. C runs a
# command in the container, api talks to jaild's socket from inside it.

wait_for() { # wait_for SECONDS CMD...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# A drop-in pointing jaild at an empty store: the smoke jail cannot run,
# so READY=1 never comes and the start must fail, never reach active.
check_no_ready() {
  C mkdir -p /etc/systemd/system/jaild.service.d
  C sh -c 'printf "[Service]\nExecStart=\nExecStart=/usr/local/bin/jaild serve --config /etc/jaild/jaild.toml --state-dir /var/lib/jaild/empty\nRestart=no\n" > /etc/systemd/system/jaild.service.d/test-empty.conf'
  C systemctl daemon-reload
  if C systemctl start jaild.service; then echo "start succeeded with no rootfs"; return 1; fi
  local res active
  res=$(prop jaild Result) active=$(prop jaild ActiveEnterTimestampMonotonic)
  journal -u jaild -g "no rootfs for any language" >/dev/null || { echo "reason not in the journal"; return 1; }
  C rm /etc/systemd/system/jaild.service.d/test-empty.conf
  C systemctl daemon-reload
  C systemctl reset-failed jaild.service
  [ "$active" = 0 ] || { echo "was active at $active"; return 1; }
  echo "start failed (Result=$res), never active, reason in the journal"
}

check_socket_activation() {
  C systemctl start jaild.socket
  [ "$(prop jaild.service ActiveState)" = inactive ] || { echo "daemon running before any connection"; return 1; }
  local info
  info=$(api http://jaild/v1/info) || { echo "first connect failed"; return 1; }
  grep -q '"languages":\[{"name":"python"' <<<"$info" || { echo "info: $info"; return 1; }
  [ "$(prop jaild.service ActiveState)" = active ] || { echo "daemon not active after connect"; return 1; }
  journal -u jaild SOCKET_ACTIVATED=true -g "jaild serving" >/dev/null || { echo "no socket_activated=true serving line"; return 1; }
  echo "inactive before, active after the first GET /v1/info, serving on systemd's socket"
}

# systemd enters active when READY=1 arrives; the "jaild serving" line is
# logged after the smoke jails ran, just before READY=1.
check_ready_after_smoke() {
  local active serving
  active=$(prop jaild ActiveEnterTimestampMonotonic)
  serving=$(journal -u jaild -g "jaild serving" -o export | sed -n 's/^__MONOTONIC_TIMESTAMP=//p' | tail -1)
  [ -n "$serving" ] && [ "$active" -ge "$serving" ] || { echo "active at $active, serving at $serving"; return 1; }
  [ "$(prop jaild Type)" = notify ] || return 1
  echo "active at +$(( (active - serving) / 1000 )) ms after the post-smoke serving line (Type=notify)"
}

check_status() {
  local st
  st=$(C systemctl status --no-pager jaild | grep 'Status:') || { echo "no Status: line"; return 1; }
  grep -q 'jails running, 0 queued' <<<"$st" || { echo "$st"; return 1; }
  echo "$(sed 's/^ *//' <<<"$st")"
}

check_journal_run() {
  local res id entry
  res=$(api -H 'Content-Type: application/json' -d '{"language":"python","code":"import os\nprint(6*7)","env":{"SECRET_TOKEN":"hunter2"}}' http://jaild/v1/runs)
  id=$(grep -o '"id":"[0-9a-f]*"' <<<"$res" | cut -d'"' -f4)
  grep -q '"stdout":"42\\n"' <<<"$res" || { echo "run: $res"; return 1; }
  wait_for 5 journal -u jaild "RUN_ID=$id" -g "run finished" || { echo "no journal entry with RUN_ID=$id"; return 1; }
  entry=$(journal -u jaild "RUN_ID=$id" -o export)
  for f in "RUN_ID=$id" LANGUAGE=python STATUS=ok CALLER_UID=0 EXIT_CODE=0 PRIORITY=6 SYSLOG_IDENTIFIER=jaild; do
    grep -qx "$f" <<<"$entry" || { echo "field $f missing: $entry"; return 1; }
  done
  grep -q '^WALL_MS=[0-9]' <<<"$entry" && grep -q '^CODE_SHA256=[0-9a-f]\{64\}$' <<<"$entry" || { echo "no WALL_MS/CODE_SHA256"; return 1; }
  if journal -u jaild -o export | grep -q -e 'hunter2' -e 'print(6\*7)'; then echo "script source or env value in the journal"; return 1; fi
  if ! C systemctl status --no-pager jaild | grep -q 'Status:.* 1 runs served'; then echo "STATUS not updated after the run"; return 1; fi
  echo "run $id: RUN_ID LANGUAGE STATUS CALLER_UID EXIT_CODE WALL_MS CODE_SHA256 fields; no code or env value logged; STATUS updated"
}

# The jails of the hardened service get their cgroup limits enforced in
# the container (FACTS.md said nspawn does not enforce them: it does once
# the v1 controller mounts are writable).
check_limits() {
  local res
  res=$(api -H 'Content-Type: application/json' -d '{"language":"python","code":"x = bytearray(300 << 20)\nprint(len(x))","limits":{"memory_bytes":67108864}}' http://jaild/v1/runs)
  grep -q '"status":"oom"' <<<"$res" || { echo "300 MiB under a 64 MiB limit: $(cut -c1-200 <<<"$res")"; return 1; }
  res=$(api -H 'Content-Type: application/json' -d '{"language":"python","code":"import os\nn = 0\ntry:\n    for i in range(100):\n        if os.fork() == 0:\n            import time; time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print(\"refused after\", n, e.errno)","limits":{"pids":8,"wall_ms":3000}}' http://jaild/v1/runs)
  grep -q '"stdout":"refused after [0-9]' <<<"$res" || { echo "fork bomb under pids 8: $(cut -c1-200 <<<"$res")"; return 1; }
  local m
  m=$(api http://jaild/metrics)
  grep -q '^jaild_oom_kills_total 1$' <<<"$m" || { echo "$(grep oom <<<"$m")"; return 1; }
  echo "64 MiB limit: oom; pids 8: $(grep -o 'refused after [0-9]* [0-9]*' <<<"$res"); jaild_oom_kills_total 1"
}

check_metrics() {
  local m
  m=$(api http://jaild/metrics)
  grep -q '^jaild_runs_total{language="python",status="ok"} 1$' <<<"$m" || { echo "$(grep jaild_runs <<<"$m")"; return 1; }
  grep -q '^jaild_build_info{' <<<"$m" || return 1
  echo "jaild_runs_total{language=\"python\",status=\"ok\"} 1"
}

check_reload_applies() {
  local pid
  pid=$(prop jaild MainPID)
  C sed -i 's/^# max_concurrent = 4/max_concurrent = 3/' /etc/jaild/jaild.toml
  C systemctl reload jaild
  wait_for 10 sh -c "nsenter -t $P1 -a curl -s --unix-socket /run/jaild/jaild.sock http://jaild/v1/info | grep -q '\"max_concurrent\":3'" \
    || { echo "max_concurrent not 3 after reload"; return 1; }
  [ "$(prop jaild MainPID)" = "$pid" ] || { echo "daemon restarted instead of reloading"; return 1; }
  wait_for 5 sh -c "nsenter -t $P1 -a systemctl status --no-pager jaild | grep -q 'Status: \"0 of 3 jails'" || { echo "STATUS not updated"; return 1; }
  echo "max_concurrent 3 in /v1/info and STATUS, same PID $pid"
}

check_reload_refuses() {
  local pid
  pid=$(prop jaild MainPID)
  C cp /etc/jaild/jaild.toml /etc/jaild/jaild.toml.good
  C sh -c 'echo "max_concurrent = \"many\"" >> /etc/jaild/jaild.toml'
  C systemctl reload jaild
  wait_for 10 journal -u jaild -p err -g "reload refused" || { echo "no refusal in the journal"; return 1; }
  local line
  line=$(journal -u jaild -p err -g "reload refused" -o cat | tail -1)
  grep -q "jaild.toml" <<<"$line" || { echo "refusal gives no reason: $line"; return 1; }
  api http://jaild/v1/info | grep -q '"max_concurrent":3' || { echo "config in force changed"; return 1; }
  [ "$(prop jaild MainPID)" = "$pid" ] && [ "$(prop jaild ActiveState)" = active ] || { echo "daemon not the same active one"; return 1; }
  C mv /etc/jaild/jaild.toml.good /etc/jaild/jaild.toml
  echo "refused, still max_concurrent 3, same PID; journal: ${line:0:160}"
}

# The policy file is re-read on reload too: a new profile is granted, a
# broken file is refused (error priority, WHAT=policy) and the one in
# force stays. The valid file is left in place for the later checks.
check_reload_policy() {
  local pid
  pid=$(prop jaild MainPID)
  C sh -c '/usr/local/bin/jaild policy default > /etc/jaild/policy.toml && printf "\n[profile.quick]\nlanguage = \"python\"\n" >> /etc/jaild/policy.toml'
  C systemctl reload jaild
  wait_for 10 sh -c "nsenter -t $P1 -a curl -s --unix-socket /run/jaild/jaild.sock http://jaild/v1/info | grep -q '\"name\":\"quick\"'" \
    || { echo "profile quick not granted after reload"; return 1; }
  C cp /etc/jaild/policy.toml /etc/jaild/policy.toml.good
  C sh -c 'printf "\n[profile.broken]\nlanguage = \"cobol\"\n" >> /etc/jaild/policy.toml'
  C systemctl reload jaild
  wait_for 10 journal -u jaild -p err WHAT=policy -g "reload refused" || { echo "no policy refusal in the journal"; return 1; }
  journal -u jaild -p err WHAT=policy -o verbose | grep -q cobol || { echo "policy refusal gives no reason"; return 1; }
  api http://jaild/v1/info | grep -q '"name":"quick"' || { echo "policy in force changed"; return 1; }
  [ "$(prop jaild MainPID)" = "$pid" ] && [ "$(prop jaild ActiveState)" = active ] || { echo "daemon not the same active one"; return 1; }
  C mv /etc/jaild/policy.toml.good /etc/jaild/policy.toml
  echo "profile quick granted after reload; a broken policy refused with its reason, quick kept, same PID"
}

check_watchdog() {
  local pid npid
  pid=$(prop jaild MainPID)
  local hpid
  hpid=$(C_host_pid "$pid") || return 1
  kill -STOP "$hpid"
  wait_for 40 sh -c "[ \"\$(nsenter -t $P1 -a systemctl show -P MainPID jaild)\" != $pid ] && [ \"\$(nsenter -t $P1 -a systemctl show -P ActiveState jaild)\" = active ]" \
    || { echo "not restarted: $(prop jaild ActiveState) pid $(prop jaild MainPID)"; return 1; }
  npid=$(prop jaild MainPID)
  journal -u jaild -g "Watchdog timeout" >/dev/null || { echo "no watchdog timeout logged by systemd"; return 1; }
  api -H 'Content-Type: application/json' -d '{"language":"node","code":"console.log(1+1)"}' http://jaild/v1/runs | grep -q '"stdout":"2\\n"' \
    || { echo "restarted daemon does not run jails"; return 1; }
  echo "SIGSTOP on $pid: watchdog timeout, restarted as $npid (NRestarts=$(prop jaild NRestarts)), runs jails"
}

# ct_pids PATTERN: host PIDs of the container's processes matching PATTERN
# (only those in the container's PID namespace, not the host's).
ct_pids() {
  local ns p
  ns=$(readlink "/proc/$P1/ns/pid")
  for p in $(pgrep -f "$1"); do
    [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$ns" ] && echo "$p"
  done
  return 0
}

# C_host_pid PID: the host PID of container PID (NSpid's last field).
C_host_pid() {
  local want=$1 p
  for p in $(ct_pids 'jaild serve'); do
    if awk '/^NSpid:/ {print $NF}' "/proc/$p/status" | grep -qx "$want"; then echo "$p"; return; fi
  done
  echo "no host pid for container pid $want" >&2
  return 1
}

# SIGTERM not from systemctl: jaild sends STOPPING=1 as it starts draining,
# so systemd shows the unit deactivating while the in-flight run finishes
# (without it the unit would stay active until the process exits).
check_stopping_notify() {
  C sh -c 'curl -sS --max-time 30 --unix-socket /run/jaild/jaild.sock -H "Content-Type: application/json" -d "{\"language\":\"python\",\"code\":\"import time\ntime.sleep(2)\nprint(\\\"drained\\\")\"}" http://jaild/v1/runs > /tmp/inflight1.json' &
  local bg=$!
  wait_for 10 sh -c "nsenter -t $P1 -a curl -s --unix-socket /run/jaild/jaild.sock http://jaild/v1/info | grep -q '\"running\":1'" || { echo "run did not start"; return 1; }
  C systemctl kill --kill-whom=main -s SIGTERM jaild
  wait_for 5 sh -c "[ \"\$(nsenter -t $P1 -a systemctl show -P ActiveState jaild)\" = deactivating ]" \
    || { echo "state $(prop jaild ActiveState) while draining: no STOPPING=1"; return 1; }
  wait "$bg" || true
  C grep -q '"stdout":"drained\\n"' /tmp/inflight1.json || { echo "in-flight run: $(C cat /tmp/inflight1.json)"; return 1; }
  wait_for 10 sh -c "[ \"\$(nsenter -t $P1 -a systemctl show -P ActiveState jaild)\" = inactive ]" || { echo "not inactive"; return 1; }
  [ "$(prop jaild Result)" = success ] || { echo "Result=$(prop jaild Result)"; return 1; }
  # The socket is still listening: the next client starts it again.
  api http://jaild/v1/info >/dev/null || { echo "no re-activation"; return 1; }
  [ "$(prop jaild ActiveState)" = active ] || return 1
  echo "deactivating while the run drained (STOPPING=1), exit 0, re-activated by the next client"
}

# jail_cgroups counts the jail cgroups under the service's (ids are
# j<host uid>-<16 hex>, or j<16 hex> from older daemons). find's default
# (emacs) regex has no \{16\}: with it this check used to match nothing.
jail_cgroups() {
  find /sys/fs/cgroup -path "*/$CG/*" -regextype posix-extended -regex '.*/j([0-9]+-)?[0-9a-f]{16}' -type d 2>/dev/null | wc -l
}

check_stop() {
  local out
  # A run in flight when the stop comes is drained, not killed.
  C sh -c 'curl -sS --max-time 30 --unix-socket /run/jaild/jaild.sock -H "Content-Type: application/json" -d "{\"language\":\"python\",\"code\":\"import time\ntime.sleep(1.5)\nprint(\\\"drained\\\")\"}" http://jaild/v1/runs > /tmp/inflight.json' &
  local bg=$!
  wait_for 10 sh -c "nsenter -t $P1 -a curl -s --unix-socket /run/jaild/jaild.sock http://jaild/v1/info | grep -q '\"running\":1'" || { echo "run did not start"; return 1; }
  C systemctl stop jaild.socket jaild.service
  wait "$bg" || true
  out=$(C cat /tmp/inflight.json)
  grep -q '"stdout":"drained\\n"' <<<"$out" || { echo "in-flight run: $out"; return 1; }
  [ "$(prop jaild Result)" = success ] && [ "$(prop jaild ExecMainStatus)" = 0 ] || { echo "Result=$(prop jaild Result) status=$(prop jaild ExecMainStatus)"; return 1; }
  local left
  left=$(jail_cgroups)
  [ "$left" = 0 ] || { echo "$left jail cgroups left"; return 1; }
  [ -z "$(ct_pids jaild)" ] || { echo "jaild or jail processes left: $(ct_pids jaild)"; return 1; }
  [ -z "$(C ls /var/lib/jaild/jails 2>/dev/null)" ] || { echo "jail state left"; return 1; }
  echo "in-flight run finished (drained), Result=success ExecMainStatus=0, no jail cgroup/process/state left"
}

# With [pool] zygote = true ([pool] needs a restart, not a reload) python
# runs are forked by a zygote under the unit's hardening (RestrictNamespaces,
# PrivateDevices, ProcSubset=pid, KeyringMode=private …); a stop leaves no
# zygote, run cgroup, process or state. The service is left stopped, as
# check_stop leaves it.
check_zygote() {
  C cp /etc/jaild/jaild.toml /etc/jaild/jaild.toml.nozygote
  C sh -c 'printf "\n[pool]\nzygote = true\n" >> /etc/jaild/jaild.toml'
  local res info zi left
  C systemctl start jaild.socket jaild.service
  res=$(api -H 'Content-Type: application/json' -d '{"language":"python","code":"import os\nprint(os.getpid(), os.getpgrp(), os.getuid())"}' http://jaild/v1/runs)
  info=$(api http://jaild/v1/info)
  zi=$(grep -o '"zygote":{[^}]*}' <<<"$info")
  local standing
  standing=$(jail_cgroups) # the zygote's own jail: proves the count sees jails
  C systemctl stop jaild.socket jaild.service
  C mv /etc/jaild/jaild.toml.nozygote /etc/jaild/jaild.toml
  grep -q '"stdout":"1 1 0\\n"' <<<"$res" || { echo "python run: $(cut -c1-300 <<<"$res")"; return 1; }
  grep -q '"zygotes":1,"runs":1,"fallbacks":0' <<<"$zi" || { echo "zygote info: ${zi:-none}"; return 1; }
  [ "$standing" -gt 0 ] || { echo "no jail cgroup counted while the zygote ran"; return 1; }
  left=$(jail_cgroups)
  [ "$left" = 0 ] || { echo "$left jail cgroups left"; return 1; }
  [ -z "$(ct_pids jaild)" ] || { echo "jaild or jail processes left: $(ct_pids jaild)"; return 1; }
  left=$(C ls -A /var/lib/jaild/jails /var/lib/jaild/work 2>/dev/null | grep -v -e "^/" -e "^$" || true)
  [ -z "$left" ] || { echo "jail state left: $left"; return 1; }
  echo "forked by the zygote (pid 1, own group, uid 0); $zi; $standing jail cgroups while running, none after the stop"
}

# The hardening table: the unit's options (read from the installed unit)
# let a jail run; each excluded option, added alone, breaks it.
HARDENING_BREAKS=(
  "ProtectControlGroups=yes"
  "ProtectHostname=yes"
  "PrivateUsers=yes"
  "RestrictNamespaces=yes"
  "SystemCallFilter=@system-service"
  "SystemCallFilter=@system-service @mount @privileged"
  "CapabilityBoundingSet=~CAP_SYS_ADMIN"
  "MemoryDenyWriteExecute=yes"
  "DynamicUser=yes"
  "User=nobody"
)
# Options that let jails run but are left out for another reason
# (systemd/README.md says which).
HARDENING_WORKS_UNUSED=(
  "PrivateNetwork=yes"
)
hardening_run() { # hardening_run FILE [EXTRA-PROPERTY]
  local props=() l state=(-p StateDirectory=jaild -p StateDirectoryMode=0711) dir=/var/lib/jaild
  while IFS= read -r l; do props+=(-p "$l"); done < <(C sed -n '/^# Hardening that/,/^\[Install\]/{/^[A-Z]/p}' /etc/systemd/system/jaild.service)
  case "${2:-}" in
    User=*|DynamicUser=*) # a state dir a non-root user may write, sharing the rootfs store
      C mkdir -p /var/lib/jaild-nonroot
      C chmod 1777 /var/lib/jaild-nonroot
      C ln -sfn /var/lib/jaild/rootfs /var/lib/jaild-nonroot/rootfs
      state=(-p ReadWritePaths=/var/lib/jaild-nonroot) dir=/var/lib/jaild-nonroot ;;
  esac
  [ -n "${2:-}" ] && props+=(-p "$2")
  C systemd-run --wait --pipe --collect "${state[@]}" -p Delegate=yes "${props[@]}" \
    /usr/local/bin/jaild run --state-dir "$dir" "$1"
}
check_hardening() {
  local out broke=()
  for f in /opt/ex/hello.py /opt/ex/hello.js; do
    out=$(hardening_run "$f" 2>&1) && grep -q "hello from jail" <<<"$out" || { echo "unit's hardening breaks $f: $out"; return 1; }
  done
  for opt in "${HARDENING_BREAKS[@]}"; do
    local f=/opt/ex/hello.py rc reason
    [ "$opt" = MemoryDenyWriteExecute=yes ] && f=/opt/ex/hello.js
    out=$(hardening_run "$f" "$opt" 2>&1) && rc=0 || rc=$?
    if [ "$rc" = 0 ] && grep -q "hello from jail" <<<"$out"; then
      echo "$opt does NOT break jails (update systemd/README.md and the unit)"; return 1
    fi
    reason=$(grep -o 'jaild run: .*\|jaild: signaled.*\|terminated with: .*' <<<"$out" | head -1 | cut -c1-150 || true)
    broke+=("$opt: ${reason:-no output, exit status $rc}")
  done
  for opt in "${HARDENING_WORKS_UNUSED[@]}"; do
    out=$(hardening_run /opt/ex/hello.py "$opt" 2>&1) && grep -q "hello from jail" <<<"$out" || { echo "$opt breaks jails: $out"; return 1; }
  done
  printf '  %s\n' "${broke[@]}"
  echo "  unit's options: python and node jails run; ${HARDENING_WORKS_UNUSED[*]}: runs too; each option above breaks a jail"
}
