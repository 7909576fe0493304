r"""``python -m dollarbill_research bot``: the personality bot from the command line.

Paper (default), replaying a history::

    python -m dollarbill_research bot --config personality_bot_config.json \
        --broker paper --replay data/ --state-dir state/

Alpaca (paper endpoint unless ``--live``; keys only from ``APCA_API_KEY_ID`` /
``APCA_API_SECRET_KEY``)::

    python -m dollarbill_research bot --config cfg.json --broker alpaca --state-dir state/ --once
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["add_bot_parser", "add_parser", "run", "run_bot"]


def add_bot_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``bot`` subcommand to a subparsers object."""
    p = sub.add_parser(
        "bot",
        help="the personality trading bot (paper replay or Alpaca)",
        description="Run the personality trading bot on a broker, with a durable ledger.",
    )
    p.add_argument("--config", required=True, help="personality_bot_config.json (// comments ok)")
    p.add_argument("--broker", choices=("paper", "alpaca"), default="paper")
    p.add_argument("--state-dir", required=True, help="folder of the ledger and saved state")
    p.add_argument("--replay", help="paper broker: bar history to replay (file or folder)")
    p.add_argument("--start", help="paper replay: first bar to trade (YYYY-MM-DD)")
    p.add_argument("--end", help="paper replay: last bar to trade (YYYY-MM-DD)")
    p.add_argument(
        "--fill",
        choices=("open", "close"),
        default="open",
        help="paper fills at the next bar's open (default) or the decision bar's close",
    )
    p.add_argument("--dry-run", action="store_true", help="decide and print, submit nothing")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument("--json", action="store_true", help="one JSON object per iteration")
    p.add_argument("--summary-json", help="write final_equity, n_orders, n_fills, n_rejections")
    p.add_argument("--once", action="store_true", help="alpaca: one iteration, then exit")
    p.add_argument("--interval", type=float, default=60.0, help="alpaca: seconds between runs")
    p.add_argument("--max-iterations", type=int, help="stop after this many iterations")
    p.add_argument("--live", action="store_true", help="alpaca: the live endpoint (real money)")
    return p


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """The ``dollarbill_research.cli`` command protocol: add ``bot`` and set its runner."""
    parser = add_bot_parser(sub)
    parser.set_defaults(run=run, prog="dollarbill bot")
    return parser


def run(args: argparse.Namespace) -> int:
    """The ``dollarbill_research.cli`` command protocol: run ``bot``."""
    return run_bot(args)


def run_bot(args: argparse.Namespace) -> int:
    """Run the ``bot`` subcommand; return the exit status."""
    from dollarbill_research.config.bot import BotConfig
    from dollarbill_research.exceptions import DollarbillError
    from dollarbill_research.live.bot import TradingBot
    from dollarbill_research.live.output import render, to_json

    out = sys.stdout

    def show(it: object) -> None:
        if args.json:
            print(to_json(it), file=out, flush=True)
        elif not args.quiet:
            print(render(it), file=out, flush=True)

    bot = None
    try:
        config = BotConfig.from_json(args.config)
        state = Path(args.state_dir)
        if args.broker == "paper":
            from dollarbill_research.live.paper import PaperBroker

            if not args.replay:
                print(
                    "error: the paper broker needs --replay DATA (the bar history to trade); "
                    "hint: --replay data/",
                    file=sys.stderr,
                )
                return 2
            broker = PaperBroker(
                state, args.replay, fill=args.fill, config=config.backtest_config(),
                start=args.start, end=args.end, symbols=config.symbols,
            )  # fmt: skip
        else:
            from dollarbill_research.live.alpaca import AlpacaBroker

            broker = AlpacaBroker(paper=not args.live)
        bot = TradingBot(config, broker, state, dry_run=args.dry_run, on_iteration=show)
        if args.broker == "paper":
            summary = bot.run(max_iterations=args.max_iterations)
        else:
            n = 0
            while True:
                bot.iterate()
                n += 1
                if args.once or (args.max_iterations and n >= args.max_iterations):
                    break
                time.sleep(args.interval)
            summary = bot.summary()
    except DollarbillError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if bot is not None:
            bot.close()
    data = summary.to_dict()
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(data, indent=2) + "\n")
    if args.json:
        print(json.dumps({"summary": data}), file=out)
    else:
        print(
            f"🏁 Done: {data['n_bars']} bars, {data['n_orders']} orders, {data['n_fills']} fills, "
            f"{data['n_rejections']} rejections, final equity ${data['final_equity']:,.2f} "
            f"(state {data['state']})",
            file=out,
        )
    return 0
