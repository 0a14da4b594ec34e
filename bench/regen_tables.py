"""One markdown table per bench run, from its result rows (see
regen_results.py). What each column means is said once, next to the
table; nothing here invents a figure the run did not print."""


def fmt(value, digits=0):
    if value is None or value == "":
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def rows_named(rows, name):
    return [r for n, r in rows if n == name]


def per_cpu(count, cpu):
    return count / cpu if cpu else None


def presence(rows):
    calls = rows_named(rows, "presence")
    out = ["Each SUBSCRIBE call is a digest round (401, authenticated SUBSCRIBE, 200, first NOTIFY answered); "
           "each PUBLISH call a digest round with a durable (fsync'd) change. sipp runs at most 500 calls at once.", ""]
    out += table(["load", "offered", "ok", "failed", "seconds", "achieved"],
                 [[r["kind"].upper(), f"{fmt(r['offered_calls'])} calls at {fmt(r['offered_rate'])}/s",
                   fmt(r["ok"]), fmt(r["failed"]), fmt(r["seconds"], 2), f"{fmt(r['achieved_rate'])}/s"]
                  for r in calls])
    fan = rows_named(rows, "presence_fanout")
    out += ["", "Fan-out (`benches/fanout.rs`): N dialogs from 64 UDP sockets, auth off, one change through the "
            "admin API; latency from the API call to each watcher's NOTIFY carrying it.", ""]
    out += table(["watchers", "subscribed", "received the change", "median latency", "last NOTIFY"],
                 [[fmt(r["watchers"]), fmt(r["subscribed"]), fmt(r["received"]), f"{fmt(r['median_ms'], 1)} ms",
                   f"{fmt(r['last_ms'], 1)} ms"] for r in fan])
    return out


def wave_cell(r, i):
    if r is None:
        return "—"
    if f"wave{i}_last_ms" not in r:
        return f"no NOTIFY ({fmt(r.get(f'wave{i}_notifies', 0))})"
    return (f"{fmt(r[f'wave{i}_last_ms'], 1)} ms (first {fmt(r[f'wave{i}_first_ms'], 1)} ms; "
            f"{fmt(r[f'wave{i}_notifies'])} NOTIFY, {fmt(r[f'wave{i}_retransmissions'])} retransmitted)")


def fanout(rows):
    ours = next((r for r in rows_named(rows, "fanout") if r["server"] == "opendpma"), None)
    kam = next((r for r in rows_named(rows, "fanout") if r["server"] == "kamailio"), None)
    if ours is None:
        return ["(no result line)"]
    out = [f"Watchers: {fmt(ours['subscribed'])} of {fmt(ours['watchers'])} subscribed in "
           f"{fmt(ours['subscribe_seconds'], 2)} s (offered at {fmt(ours['subscribe_offered_rate'])}/s, achieved "
           f"{fmt(ours['subscribed'] / max(ours['subscribe_seconds'], 0.01))}/s); watcher calls "
           f"{fmt(ours['calls_ok'])} ok, {fmt(ours['calls_failed'])} failed; opendpma CPU over the publish phase "
           f"{fmt(ours['cpu_s'], 2)} s" + (f", Kamailio's {fmt(kam['cpu_s'], 2)} s (its watcher calls "
                                          f"{fmt(kam['calls_ok'])} ok, {fmt(kam['calls_failed'])} failed)"
                                          if kam else "") + ".",
           "Time from the PUBLISH (the authorised one: a digest round comes first) to the last NOTIFY with PIDF "
           "of its wave, from a loopback capture (`fanout_waves.py`)." + (
               " opendpma's third wave is a third state (it keeps a line's presence when a publication is "
               "removed), Kamailio's a removal." if kam else ""), ""]
    headers = ["wave", "opendpma last NOTIFY"] + (["Kamailio last NOTIFY", "Kamailio ÷ opendpma"] if kam else [])
    body = []
    for i in (1, 2, 3):
        row = [str(i), wave_cell(ours, i)]
        if kam:
            a, b = ours.get(f"wave{i}_last_ms"), kam.get(f"wave{i}_last_ms")
            row += [wave_cell(kam, i), f"{b / a:.2f}×" if a and b else "—"]
        body.append(row)
    return out + table(headers, body)


def subscriptions_restart(rows):
    r = rows_named(rows, "subscriptions_restart")
    if not r:
        return ["(no result line)"]
    r = r[0]
    return table(["measure", "value"], [
        ["subscriptions", fmt(r["subscriptions"])],
        ["subscribed in", f"{fmt(r['subscribe_seconds'], 2)} s (offered in bursts of 500; achieved "
                          f"{fmt(r['achieved_rate'])}/s)"],
        ["RSS with them all", f"{fmt(r['rss_with_kib'])} KiB ({r['rss_with_kib'] * 1024 / 1e6:,.1f} MB)"],
        ["restart: back", f"{fmt(r['restored'])} in {fmt(r['restore_seconds'], 2)} s after the process started"],
        ["RSS right after the restore", f"{fmt(r['rss_after_restore_kib'])} KiB"],
    ])


def provisioning(rows):
    r = rows_named(rows, "provisioning")
    out = ["`wrk -t2 -c32 --latency`, a Lua script rotating over every `<mac>.cfg` with Basic credentials: a "
           "closed loop (each connection sends when answered), so the offered rate is what the server takes.", ""]
    out += table(["server", "phones", "duration", "requests", "achieved", "p99"],
                 [[x["server"], fmt(x["phones"]), f"{fmt(x['duration_s'])} s", fmt(x["requests"]),
                   f"{fmt(x['achieved_rate'])}/s", f"{fmt(x['p99_ms'], 2)} ms"] for x in r])
    if len(r) == 1:
        out += ["", "nginx is not installed on this machine: no static-file comparison."]
    return out


def config_scale(rows):
    r = rows_named(rows, "config_scale")
    if not r:
        return ["(no result line)"]
    r = r[0]
    return [f"{fmt(r['phones'])} phones, {fmt(r['lines'])} lines, {r['contacts_per_phone']} contacts each. "
            "Reloads go through `POST /api/v1/reload` on the running server; the reload time is the median "
            "of 3.", ""] + table(["step", "time", "peak RSS"], [
        ["`opendpma check`", f"{fmt(r['check_s'], 2)} s", f"{fmt(r['check_rss_mib'])} MiB"],
        ["`opendpma render` (last phone)", f"{fmt(r['render_s'], 2)} s", f"{fmt(r['render_rss_mib'])} MiB"],
        ["`serve`: start to /healthz", f"{fmt(r['start_s'], 2)} s", ""],
        ["reload (median of 3)", f"{fmt(r['reload_median_s'], 2)} s (runs {r['reload1_s']} / {r['reload2_s']} / "
                                 f"{r['reload3_s']} s)", f"{fmt(r['rss_after_reloads_mib'])} MiB after them"],
    ])


def sbs_per_cpu(r):
    """Durable changes or dialogs per CPU-second for opendpma; PUBLISH (3
    per call) or calls per CPU-second for Kamailio."""
    if r["server"] == "opendpma":
        return per_cpu(r["ok"], r["cpu"])
    return per_cpu(r["calls_ok"] * r.get("per_call", 1), r["cpu"])


def sbs(rows):
    r = rows_named(rows, "sbs")
    ours = next((x for x in r if x["server"] == "opendpma"), None)
    kam = next((x for x in r if x["server"] == "kamailio"), None)
    out = ["opendpma: digest auth, every PUBLISH a durable change (a call = a 401 round + one authenticated "
           "request); Kamailio 5.6 presence, no auth (a PUBLISH call = 3 PUBLISH, a SUBSCRIBE call = 2 SUBSCRIBE "
           "+ 2 NOTIFY). CPU is the server's user+system time.", ""]
    body = []
    if ours:
        body.append(["opendpma", fmt(ours["ok"]), fmt(ours["failed"]), f"{fmt(ours['wall'], 1)} s",
                     f"{fmt(ours['ok'] / max(ours['wall'], 0.01))}/s", f"{fmt(ours['cpu'], 2)} s",
                     fmt(sbs_per_cpu(ours))])
    if kam:
        body.append(["Kamailio", fmt(kam["calls_ok"]), fmt(kam["failed"]),
                     f"{fmt(kam.get('wall'), 1)} s" if kam.get("wall") else "—",
                     f"{fmt(kam['calls_ok'] / kam['wall'])}/s" if kam.get("wall") else "—",
                     f"{fmt(kam['cpu'], 2)} s", fmt(sbs_per_cpu(kam))])
    out += table(["server", "calls ok", "failed", "wall", "calls/s", "CPU", "per CPU-second"], body)
    if ours and kam and sbs_per_cpu(ours) and sbs_per_cpu(kam):
        out += ["", f"Ratio per CPU-second, opendpma ÷ Kamailio: **{sbs_per_cpu(ours) / sbs_per_cpu(kam):.2f}×**."]
    return out


def notify_latency(rows):
    r = rows_named(rows, "notify_latency")
    if not r:
        return ["(no result lines)"]
    r = r[0]
    return ["Watchers (64 UDP sockets, auth off) spread over the lines; changes through the admin API, round-robin "
            "over the lines; each change's clock starts when its API call is sent (the durable commit included) "
            "and stops when a watcher reads the NOTIFY carrying it.", ""] + table(
        ["watchers / lines", "changes offered", "achieved", "refused", "NOTIFYs", "p50", "p90", "p99", "max"],
        [[f"{fmt(r['watchers'])} ({fmt(r['subscribed'])} subscribed) / {fmt(r['lines'])}",
          f"{fmt(r['changes'])} at {fmt(r['offered_rate'])}/s", f"{fmt(r['achieved_rate'])}/s", fmt(r["refused"]),
          fmt(r["notifies"])] + [f"{fmt(r[k], 2)} ms" for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]])


def criterion(rows):
    r = rows_named(rows, "criterion")
    return ["Criterion's median time per iteration over its samples, with its 95 % confidence interval.", ""] + table(
        ["benchmark", "median", "95 % interval", "per second", "samples"],
        [[x["id"], f"{x['median_ns'] / 1e3:,.2f} µs", f"{x['low_ns'] / 1e3:,.2f} – {x['high_ns'] / 1e3:,.2f} µs",
          fmt(1e9 / x["median_ns"]) if x["median_ns"] else "—", fmt(x["samples"])] for x in r])


def publish_floor(rows):
    r = rows_named(rows, "publish_floor")
    out = ["`bench/publish_floor.rs` (one thread, blocking recv/send, nothing parsed or checked) under the same "
           "sipp command as `sbs.sh publish`: no server doing the work can use less CPU per call on this "
           "machine (DECISIONS §22).", ""]
    return out + table(["offered", "calls ok", "failed", "CPU", "µs per call", "calls per CPU-second"],
                       [[f"{fmt(x['rate'])}/s", fmt(x["ok"]), fmt(x["failed"]), f"{fmt(x['cpu_s'], 2)} s",
                         fmt(x["cpu_s"] / max(x["ok"], 1) * 1e6, 1), fmt(x["per_cpu_s"])] for x in r])


def knee(rows):
    steps = rows_named(rows, "knee_step")
    out = ["One server; sipp offers each rate for the same number of seconds, the rate doubling each step "
           "(digest auth, durable). The knee is the highest step achieving ≥ 95 % of its offered rate with "
           "< 5 % failed calls.", ""]
    out += table(["offered", "calls", "ok", "failed", "achieved"],
                 [[f"{fmt(x['offered_rate'])}/s", fmt(x["calls"]), fmt(x["ok"]), fmt(x["failed"]),
                   f"{fmt(x['achieved_rate'])}/s"] for x in steps])
    for x in rows_named(rows, "knee"):
        if str(x.get("knee_rate", "")).startswith("none"):
            top = int(str(x["knee_rate"]).rsplit("_", 1)[-1])
            out += ["", f"No knee up to {top:,}/s offered: every step kept up."]
        elif "ratio" in x:
            out += ["", f"Knee at {fmt(x['knee_rate'])}/s offered; at twice that, {100 * x['ratio']:.0f} % of the "
                        "knee's throughput."]
    return out


def render(key, rows):
    for prefix, function in (("presence", presence), ("fanout", fanout), ("subscriptions", subscriptions_restart),
                             ("provisioning", provisioning), ("config", config_scale), ("sbs", sbs),
                             ("notify", notify_latency), ("criterion", criterion),
                             ("publish-floor", publish_floor), ("knee", knee)):
        if key.startswith(prefix):
            return function(rows)
    return ["(no table for this bench)"]
