"""Issue 16's targets (its wording), each with the measured value from this
run and met / not met. A target whose bench did not run, or printed no
figure, says so; a tiny (smoke) run is never judged against a target."""

from regen_tables import rows_named, sbs_per_cpu


def first(runs, key, name, **match):
    run = runs.get(key)
    if not run:
        return None
    for row in rows_named(run.rows, name):
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def sbs_ratio(runs, key):
    ours = first(runs, key, "sbs", server="opendpma")
    kam = first(runs, key, "sbs", server="kamailio")
    if not ours or not kam or not sbs_per_cpu(ours) or not sbs_per_cpu(kam):
        return None, "no figure"
    ratio = sbs_per_cpu(ours) / sbs_per_cpu(kam)
    return ratio, f"{sbs_per_cpu(ours):,.0f} vs {sbs_per_cpu(kam):,.0f} per CPU-s: {ratio:.2f}×"


def success(runs, key):
    ours = first(runs, key, "sbs", server="opendpma")
    if not ours or ours["ok"] + ours["failed"] == 0:
        return None, "no figure"
    share = ours["ok"] / (ours["ok"] + ours["failed"])
    return share, f"{ours['ok']:,} of {ours['ok'] + ours['failed']:,} ok ({100 * share:.2f} %)"


def knee_ratio(runs, key):
    row = first(runs, key, "knee")
    if not row:
        return None, "no figure"
    if str(row.get("knee_rate", "")).startswith("none"):
        top = str(row["knee_rate"]).rsplit("_", 1)[-1]
        return None, (f"no knee up to {int(top):,} calls/s offered (the highest step of the sweep): every step "
                      "kept up, so there is no 2× point to judge")
    return row["ratio"], (f"knee {row['knee_rate']:,}/s offered ({row['knee_achieved']:,}/s); at 2×: "
                          f"{row['double_achieved']:,}/s = {100 * row['ratio']:.0f} %")


def fanout_ratio(runs):
    ours = first(runs, "fanout-3000-kamailio", "fanout", server="opendpma")
    kam = first(runs, "fanout-3000-kamailio", "fanout", server="kamailio")
    if not ours or not kam:
        return None, "no figure"
    pairs = [(ours.get(f"wave{i}_last_ms"), kam.get(f"wave{i}_last_ms")) for i in (1, 2, 3)]
    if not all(a and b for a, b in pairs):
        return None, "a wave without NOTIFY on one side"
    # Met only when every wave is within a quarter of Kamailio's same wave.
    worst = max(a / b for a, b in pairs)
    return worst, ("waves " + " / ".join(f"{a:.0f} vs {b:.0f} ms" for a, b in pairs)
                   + f"; worst wave at {worst:.2f} of Kamailio's")


def fanout_10000(runs):
    ours = first(runs, "fanout-10000", "fanout", server="opendpma")
    waves = [ours.get(f"wave{i}_last_ms") for i in (1, 2, 3)] if ours else []
    if not waves or not all(waves):
        return None, "no figure"
    return max(waves), "waves " + " / ".join(f"{w:.0f}" for w in waves) + " ms (worst counts)"


def notify_p99(runs):
    r = first(runs, "notify-latency", "notify_latency")
    if not r:
        return None, "no figure"
    return r["p99_ms"], f"p99 {r['p99_ms']:.2f} ms ({r['watchers']:,} watchers of {r['lines']} lines)"


def restart(runs, measure):
    r = first(runs, "subscriptions-restart", "subscriptions_restart")
    if not r:
        return None, "no figure"
    if measure == "rss":
        mb = r["rss_with_kib"] * 1024 / 1e6
        return mb, f"{mb:,.1f} MB (10⁶ bytes) with {r['subscriptions']:,}"
    return r["restore_seconds"], f"{r['restore_seconds']:.2f} s for {r['restored']:,}"


def config(runs, step):
    r = first(runs, "config-scale", "config_scale")
    if not r:
        return None, "no figure"
    seconds = max(r["reload1_s"], r["reload2_s"], r["reload3_s"]) if step == "reload" else r[f"{step}_s"]
    return seconds, f"{seconds:.2f} s" + (" (slowest of 3)" if step == "reload" else "")


def targets(runs):
    """(wording, where measured, value text, verdict) rows."""
    rows = [
        ("Offered 5,000 PUBLISH calls/s […] at least 95 % of calls succeed", "sbs-publish-5000",
         *success(runs, "sbs-publish-5000"), lambda v: v >= 0.95),
        ("Offered […] 5,000 SUBSCRIBE calls/s, at least 95 % of calls succeed", "sbs-subscribe-5000",
         *success(runs, "sbs-subscribe-5000"), lambda v: v >= 0.95),
    ]
    for mode in ("publish", "subscribe"):
        key = f"knee-{mode}"
        value, text = knee_ratio(runs, key)
        rows.append((f"throughput at 2× the knee is at least 90 % of throughput at the knee ({mode.upper()})", key,
                     value, text, (lambda v: v >= 0.9) if value is not None or not runs.get(key) else None))
    for rate in (2000, 5000):
        rows.append(("durable PUBLISH changes per CPU-second ≥ 3× Kamailio's PUBLISH per CPU-second, with digest "
                     f"auth on our side ({rate:,} calls/s)", f"sbs-publish-{rate}",
                     *sbs_ratio(runs, f"sbs-publish-{rate}"), lambda v: v >= 3))
    for rate in (2000, 5000):
        rows.append((f"SUBSCRIBE dialogs per CPU-second ≥ 3× Kamailio's calls per CPU-second ({rate:,} calls/s)",
                     f"sbs-subscribe-{rate}", *sbs_ratio(runs, f"sbs-subscribe-{rate}"), lambda v: v >= 3))
    rows += [
        ("fan-out last NOTIFY for 3,000 watchers ≤ ¼ of Kamailio's on the same harness", "fanout-3000-kamailio",
         *fanout_ratio(runs), lambda v: v <= 0.25),
        ("10,000 watchers ≤ 150 ms", "fanout-10000", *fanout_10000(runs), lambda v: v <= 150),
        ("p99 change→NOTIFY < 5 ms at 100 changes/s with 1,000 watchers", "notify-latency", *notify_p99(runs),
         lambda v: v < 5),
        ("100,000 live subscriptions in < 300 MB RSS", "subscriptions-restart", *restart(runs, "rss"),
         lambda v: v < 300),
        ("[100,000 live subscriptions] restored after restart in < 2 s", "subscriptions-restart",
         *restart(runs, "restore"), lambda v: v < 2),
    ]
    for step in ("check", "reload", "render"):
        rows.append((f"check, reload and render of that config [10,000 phones / 20,000 lines, 10 contacts each] in "
                     f"< 1 s: {step}", "config-scale", *config(runs, step), lambda v: v < 1))
    rows.append(("[config] memory linear", None, None, "not judged: one size per run (see the RSS figures of "
                 "config-scale)", None))
    return rows


def verdicts(runs, tiny):
    out = []
    for wording, key, value, text, test in targets(runs):
        run = runs.get(key) if key else None
        if test is None:
            verdict = "—"
        elif run is None or run.skipped:
            verdict = "not run"
        elif value is None:
            verdict = "FAILED: no figure" if run.failed else "no figure"
        elif tiny:
            verdict = "not judged (tiny run)"
        else:
            verdict = "met" if test(value) else "**not met**"
        if run is not None and run.failed and value is not None:
            text += " (the bench FAILED, see its section)"
        where = f"[{key}](#{key})" if key else "—"
        out.append([wording, where, text, verdict])
    return out
