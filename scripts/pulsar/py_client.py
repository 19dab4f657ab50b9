#!/usr/bin/env python3
"""Interop helper for the real-broker tests: an independent second Pulsar client.

`produce` and `consume` use the official Python client (`pulsar-client`, binary protocol, C++
core), so the crate's WebSocket traffic can be checked against a codebase that shares nothing
with it. `ws-handshake` and `ws-read` are raw WebSocket probes (package `websockets`) used by
scripts/pulsar.sh users and docs/testing.md to check the server's behaviour by hand.

Output is machine-readable, one JSON object per line on stdout; logs go to stderr.

  produce  --service-url pulsar://H:P --topic T --count N [--key K] [--property k=v ...]
           [--event-time-ms MS] [--payload-file F | --payload-prefix P] [--batching] [--token JWT]
      Sends N messages (synchronously, in order). Payload: the bytes of F for every message, or
      "<P><i>" (P defaults to "msg-", i = 0..N-1). Prints one line per message:
      {"message_id_b64": <base64 of the client's MessageIdData>, "ledger_id": .., "entry_id": ..,
       "partition": .., "batch_index": ..}
      NOTE: the C++ client serializes ids without the batch_size field the Java side (and so the
      WebSocket API) writes, so compare ids by (ledger_id, entry_id, batch_index), not by string.

  consume  --service-url pulsar://H:P --topic T --subscription S --count N --timeout-s SECS
           [--initial-position earliest|latest] [--subscription-type Exclusive|Shared|Failover|Key_Shared]
           [--no-ack] [--token JWT]
      Receives up to N messages, acking each (unless --no-ack), and prints one line per message:
      {"payload_b64":.., "key": str|null (null also for an empty key), "properties": {..}, "event_time_ms": int|null,
       "publish_time_ms": int, "redelivery_count": int, "message_id_b64": .., "ledger_id": ..,
       "entry_id": .., "partition": .., "batch_index": ..}
      Exits 3 if fewer than N arrived within the timeout (the lines received are still printed).
      The initial position defaults to earliest.

  ws-handshake --url ws://H:P/ws/v2/... [--token JWT] [--header 'Name: value' ...]
      Prints {"status": <HTTP status of the upgrade, 101 on success>, "body": <error body, cut>}.

  ws-read --url ws://H:P/ws/v2/reader/...?messageId=earliest --count N --timeout-s SECS [--token JWT]
      Raw WebSocket reader/consumer: prints each received text frame verbatim (one per line) and
      answers it with {"messageId": ...}. Exits 3 if fewer than N frames arrived in time.
"""

import argparse
import base64
import json
import os
import sys
import time


def _client(args):
    import pulsar

    # The C++ core logs through its own FileLogger onto stderr (stdout is for results).
    # ConsoleLogger would write to stdout, and a Python `logging` logger made the process abort
    # now and then at exit ("terminate called without an active exception").
    kwargs = {"logger": pulsar.FileLogger(pulsar.LoggerLevel.Warn, "/dev/stderr"), "operation_timeout_seconds": 30}
    if args.token:
        kwargs["authentication"] = pulsar.AuthenticationToken(args.token)
    return pulsar.Client(args.service_url, **kwargs)


def _id_fields(mid):
    return {
        "message_id_b64": base64.b64encode(mid.serialize()).decode(),
        "ledger_id": mid.ledger_id(),
        "entry_id": mid.entry_id(),
        "partition": mid.partition(),
        "batch_index": mid.batch_index(),
    }


def _emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def cmd_produce(args):
    props = {}
    for kv in args.property or []:
        if "=" not in kv:
            raise SystemExit("--property expects k=v, got %r" % kv)
        k, v = kv.split("=", 1)
        props[k] = v
    fixed = None
    if args.payload_file:
        with open(args.payload_file, "rb") as f:
            fixed = f.read()
    client = _client(args)
    try:
        producer = client.create_producer(args.topic, batching_enabled=args.batching, send_timeout_millis=30000)
        for i in range(args.count):
            payload = fixed if fixed is not None else ("%s%d" % (args.payload_prefix, i)).encode()
            kwargs = {}
            if props:
                kwargs["properties"] = props
            if args.key is not None:
                kwargs["partition_key"] = args.key
            if args.event_time_ms is not None:
                kwargs["event_timestamp"] = args.event_time_ms
            mid = producer.send(payload, **kwargs)
            _emit(_id_fields(mid))
        producer.flush()
        producer.close()
    finally:
        client.close()
    return 0


def cmd_consume(args):
    import pulsar

    positions = {"earliest": pulsar.InitialPosition.Earliest, "latest": pulsar.InitialPosition.Latest}
    types = {
        "Exclusive": pulsar.ConsumerType.Exclusive,
        "Shared": pulsar.ConsumerType.Shared,
        "Failover": pulsar.ConsumerType.Failover,
        "Key_Shared": pulsar.ConsumerType.KeyShared,
    }
    client = _client(args)
    received = 0
    try:
        consumer = client.subscribe(
            args.topic,
            args.subscription,
            consumer_type=types[args.subscription_type],
            initial_position=positions[args.initial_position],
        )
        deadline = time.monotonic() + args.timeout_s
        while received < args.count:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                msg = consumer.receive(timeout_millis=left_ms)
            except pulsar.Timeout:
                break
            # The Python client has no has_partition_key(): an absent key reads as "".
            key = msg.partition_key() or None
            et = msg.event_timestamp()
            out = {
                "payload_b64": base64.b64encode(msg.data()).decode(),
                "key": key,
                "properties": msg.properties(),
                "event_time_ms": et if et else None,
                "publish_time_ms": msg.publish_timestamp(),
                "redelivery_count": msg.redelivery_count(),
            }
            out.update(_id_fields(msg.message_id()))
            _emit(out)
            if not args.no_ack:
                consumer.acknowledge(msg)
            received += 1
        consumer.close()
    finally:
        client.close()
    if received < args.count:
        print("consume: received %d of %d messages within %ss" % (received, args.count, args.timeout_s), file=sys.stderr)
        return 3
    return 0


def _headers(args):
    headers = []
    if args.token:
        headers.append(("Authorization", "Bearer " + args.token))
    for h in args.header or []:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def cmd_ws_handshake(args):
    import asyncio

    import websockets

    async def run():
        try:
            async with websockets.connect(args.url, additional_headers=_headers(args), open_timeout=60) as ws:
                return {"status": ws.response.status_code, "body": ""}
        except websockets.InvalidStatus as e:
            return {"status": e.response.status_code, "body": e.response.body.decode("utf-8", "replace")[:300]}

    _emit(asyncio.run(run()))
    return 0


def cmd_ws_read(args):
    import asyncio

    import websockets

    async def run():
        got = 0
        async with websockets.connect(args.url, additional_headers=_headers(args), open_timeout=60) as ws:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + args.timeout_s
            while got < args.count:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    frame = await asyncio.wait_for(ws.recv(), left)
                except asyncio.TimeoutError:
                    break
                sys.stdout.write(frame + "\n")
                sys.stdout.flush()
                mid = json.loads(frame).get("messageId")
                if mid is not None:
                    await ws.send(json.dumps({"messageId": mid}))
                got += 1
        return got

    got = asyncio.run(run())
    if got < args.count:
        print("ws-read: received %d of %d frames within %ss" % (got, args.count, args.timeout_s), file=sys.stderr)
        return 3
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("produce")
    p.add_argument("--service-url", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--key")
    p.add_argument("--property", action="append", metavar="K=V")
    p.add_argument("--event-time-ms", type=int)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--payload-file")
    g.add_argument("--payload-prefix", default="msg-")
    p.add_argument("--batching", action="store_true", help="enable producer batching (off by default)")
    p.add_argument("--token")
    p.set_defaults(func=cmd_produce)

    c = sub.add_parser("consume")
    c.add_argument("--service-url", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--subscription", required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--timeout-s", type=float, default=30)
    c.add_argument("--initial-position", choices=["earliest", "latest"], default="earliest")
    c.add_argument("--subscription-type", choices=["Exclusive", "Shared", "Failover", "Key_Shared"], default="Exclusive")
    c.add_argument("--no-ack", action="store_true")
    c.add_argument("--token")
    c.set_defaults(func=cmd_consume)

    h = sub.add_parser("ws-handshake")
    h.add_argument("--url", required=True)
    h.add_argument("--token")
    h.add_argument("--header", action="append")
    h.set_defaults(func=cmd_ws_handshake)

    r = sub.add_parser("ws-read")
    r.add_argument("--url", required=True)
    r.add_argument("--count", type=int, default=1)
    r.add_argument("--timeout-s", type=float, default=30)
    r.add_argument("--token")
    r.add_argument("--header", action="append")
    r.set_defaults(func=cmd_ws_read)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the C++ client's background threads can abort the process while
    # Python finalizes, after the work is done and printed.
    os._exit(rc or 0)
