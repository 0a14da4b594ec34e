"""The benches bench/regenerate.py runs: for each, its command at the
documented size and at the tiny (smoke) size, its time limit, and whether
it needs Kamailio (../shared/peers). Every bench script in bench/ and every
[[bench]] in Cargo.toml must be covered here: regenerate.py refuses to
write a document that silently leaves one out.

Sizes are those the issue (16) states its targets at: sbs.sh at 2,000 and
5,000 calls/s for 10 s, fan-out to 3,000 watchers beside Kamailio and to
10,000, 100,000 subscriptions, 10,000 phones."""

import os
import re
from dataclasses import dataclass, field


@dataclass
class Bench:
    key: str  # section anchor and --only name
    title: str
    argv: list  # full size, from the repository root
    tiny: list  # smoke size
    timeout: int  # seconds, full size (tiny runs get TINY_TIMEOUT)
    kamailio: bool = False  # needs ../shared/peers and Kamailio
    peers: bool = False  # needs ../shared/peers (fanout_waves.py)
    kind: str = "script"  # script | sbs | notify_latency | criterion
    covers: list = field(default_factory=list)  # bench/ scripts, Cargo benches


TINY_TIMEOUT = 240


def find_peers(root):
    """../shared/peers (the Kamailio anchor's harness: sbs.sh, bench.sh,
    fanout_waves.py) next to the checkout or next to its folder of
    worktrees; PEERS in the environment wins."""
    candidates = [os.environ["PEERS"]] if os.environ.get("PEERS") else ["../shared/peers", "../../shared/peers"]
    for candidate in candidates:
        if os.path.isfile(os.path.join(root, candidate, "fanout_waves.py")):
            return candidate
    return None


def cargo_benches(root):
    """[[bench]] names of Cargo.toml, and which of them are criterion's."""
    text = open(os.path.join(root, "Cargo.toml")).read()
    names = re.findall(r'\[\[bench\]\]\s*\nname\s*=\s*"([^"]+)"', text)
    criterion = [n for n in names
                 if "criterion_main!" in open(os.path.join(root, "benches", f"{n}.rs")).read()]
    return names, criterion


def benches(root, peers):
    peers = peers or "../shared/peers"
    sbs = f"{peers}/sbs.sh"
    out = [
        Bench("presence", "Presence over SIP: SUBSCRIBE and PUBLISH with sipp, fan-out with benches/fanout.rs",
              ["bench/presence.sh", "5000", "2000", "1000", "10000"], ["bench/presence.sh", "50", "50", "50"],
              420, covers=["bench/presence.sh", "fanout"]),
        Bench("fanout-3000-kamailio", "Fan-out to 3,000 sipp watchers, beside Kamailio",
              ["bench/fanout.sh", "3000", "kamailio"], ["bench/fanout.sh", "20", "kamailio"],
              420, kamailio=True, peers=True, covers=["bench/fanout.sh"]),
        Bench("fanout-10000", "Fan-out to 10,000 sipp watchers",
              ["bench/fanout.sh", "10000"], ["bench/fanout.sh", "30"],
              300, peers=True, covers=["bench/fanout.sh"]),
        Bench("subscriptions-restart", "100,000 live subscriptions: RSS and restore after a restart",
              ["bench/subscriptions_restart.sh", "100000"], ["bench/subscriptions_restart.sh", "200"],
              420, covers=["bench/subscriptions_restart.sh", "bench/subscriptions_rss.py"]),
        Bench("provisioning", "Provisioning over HTTP: wrk against <mac>.cfg",
              ["bench/provisioning.sh"], ["bench/provisioning.sh", "1"],
              180, covers=["bench/provisioning.sh"]),
        Bench("config-scale", "Config at site scale: check, render, start, reload",
              ["bench/config_scale.sh", "10000"], ["bench/config_scale.sh", "200"],
              240, covers=["bench/config_scale.sh"]),
    ]
    for mode in ("publish", "subscribe"):
        out.append(Bench(f"knee-{mode}", f"Where {mode.upper()} throughput stops following the offered rate",
                         ["bench/knee.sh", mode, "5", "2500", "4"], ["bench/knee.sh", mode, "1", "20", "2"],
                         240, covers=["bench/knee.sh"]))
    out.append(Bench("publish-floor", "The CPU floor of the PUBLISH scenario: a responder that only echoes 401 and 200",
                     ["bench/publish_floor.sh", "5000", "10"], ["bench/publish_floor.sh", "50", "1"],
                     120, covers=["bench/publish_floor.sh"]))
    for mode in ("publish", "subscribe"):
        for rate, tiny_rate in ((2000, 20), (5000, 50)):
            out.append(Bench(f"sbs-{mode}-{rate}", f"Side by side with Kamailio: {mode.upper()} at {rate:,} calls/s",
                             [sbs, mode, str(rate), "10"], [sbs, mode, str(tiny_rate), "1"],
                             300, kamailio=True, peers=True, kind="sbs"))
    out.append(Bench("notify-latency", "Change → NOTIFY latency at a steady change rate (benches/notify_latency.rs)",
                     ["cargo", "bench", "--quiet", "--bench", "notify_latency", "--", "1000", "100", "5", "100"],
                     ["cargo", "bench", "--quiet", "--bench", "notify_latency", "--", "50", "20", "1", "5"],
                     240, kind="notify_latency", covers=["notify_latency"]))
    for name in cargo_benches(root)[1]:
        out.append(Bench(f"criterion-{name}", f"Criterion bench `{name}` (benches/{name}.rs)",
                         ["cargo", "bench", "--quiet", "--bench", name, "--", "--noplot"],
                         ["cargo", "bench", "--quiet", "--bench", name, "--", "--noplot", "--warm-up-time", "0.1",
                          "--measurement-time", "0.2", "--sample-size", "10"],
                         420, kind="criterion", covers=[name]))
    return out


def uncovered(root, listed):
    """bench/ scripts and Cargo benches no entry covers (the sourced
    helper and the generator itself are not benches)."""
    helpers = {"bench/server_under_test.sh", "bench/regenerate.sh"}
    scripts = {f"bench/{f}" for f in os.listdir(os.path.join(root, "bench"))
               if (f.endswith(".sh") or f.endswith(".py")) and not f.startswith("regen")}
    wanted = (scripts - helpers) | set(cargo_benches(root)[0])
    covered = {c for b in listed for c in b.covers}
    return sorted(wanted - covered)
