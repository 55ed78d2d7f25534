"""The smtplib baseline for benches/deliver.rs: sends N prepared messages to an SMTP sink.

  python smtplib_send.py --port P --template FILE.eml --count N --procs K

The messages are prepared (one per recipient, the template's To and Message-ID replaced) before
the clock starts; then K processes each open one connection and send their share. Prints one JSON
line: {"messages", "seconds", "cpu_seconds", "peak_rss_kb"} where cpu_seconds is the user+system
time of the sending processes during the send only.
"""
import argparse
import json
import multiprocessing
import resource
import smtplib
import time


def prepare(template, start, count):
    head, sep, body = template.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith((b"to:", b"message-id:"))]
    out = []
    for i in range(start, start + count):
        rcpt = "bench%06d@example.net" % i
        h = b"\r\n".join(lines + [b"To: " + rcpt.encode(), b"Message-ID: <bench.%d@bench.example>" % i])
        out.append((rcpt, h + sep + body))
    return out


def worker(port, template, start, count, q, barrier):
    msgs = prepare(template, start, count)
    barrier.wait()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    s = smtplib.SMTP("127.0.0.1", port)
    for rcpt, msg in msgs:
        s.sendmail("digest@news.example.org", [rcpt], msg)
    s.quit()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    q.put((cpu, r1.ru_maxrss))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--procs", type=int, default=1)
    a = p.parse_args()
    template = open(a.template, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    q = multiprocessing.Queue()
    barrier = multiprocessing.Barrier(a.procs + 1)
    share = a.count // a.procs
    procs = [
        multiprocessing.Process(target=worker, args=(a.port, template, i * share, share, q, barrier))
        for i in range(a.procs)
    ]
    for pr in procs:
        pr.start()
    barrier.wait()  # every worker has prepared its messages
    t0 = time.monotonic()
    results = [q.get() for _ in procs]
    for pr in procs:
        pr.join()
    seconds = time.monotonic() - t0
    print(json.dumps({
        "messages": share * a.procs,
        "seconds": seconds,
        "cpu_seconds": sum(r[0] for r in results),
        "peak_rss_kb": max(r[1] for r in results),
    }))


if __name__ == "__main__":
    main()
