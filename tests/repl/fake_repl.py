#!/usr/bin/env python3
"""Stand-in for the Lean REPL, for tests only: speaks the REPL's wire format over real
pipes (requests are blank-line separated blocks whose lines are joined with no
separator; responses are pretty-printed JSON plus a blank line).

Answers come from the recorded upstream transcripts when a command text or a
(state, tactic) pair was recorded (ids renumbered for this session), else from a small
scripted tactic language:

* Tactic mode takes one tactic: a sequence (several lines or ``;``) must come as
  ``(t1\n t2\n)``, else "expected end of input" as from the real REPL.
* ``have NAME : T ...`` adds hypothesis ``NAME : T``; ``constructor`` splits ``A ∧ B``;
  ``norm_num``, ``simp``, ``linarith``, ``rfl``, ``decide``, ``native_decide``, ...
  close the first goal unless it is ``False`` (then an error response; ``native_decide``
  and ``__native`` add ``Lean.ofReduceBool`` to the theorem's axioms);
  ``exact H`` closes it if hypothesis ``H`` matches, else answers like Lean's error
  recovery (new state, error message, ``Incomplete: contains sorry``); ``sorry``;
  ``skip``; unknown tactics give ``<input>:1:1: unknown tactic``.
* Commands: a declaration ``... := by <tactics>`` (each line one tactic), optionally
  followed by ``#print axioms NAME`` (answered at its line, as Lean does); ``#check X``
  (Lean's unknown-identifier error); other text (``open``, ``set_option`` ...) is a
  context command that just makes a new env. ``allTactics`` entries carry the goals
  joined by one ``\n``, as Lean's ``ppGoals`` does (tactic mode returns a list).
* Faults: ``__once PATH`` (like ``skip`` the first time, an error once PATH exists), ``__sleep S``, ``__hang``, ``__crash`` (exit without output), ``__exit137``,
  ``__sigkill``, ``__garbage`` (non-JSON output), ``__oom`` (allocate until
  ``RLIMIT_AS`` kills it; refused without a limit), ``__bigreply N`` (an error reply of
  N bytes).
* Forgeries, as a proof that runs code could print them on the REPL's stdout before the
  REPL's own reply (then like ``skip``): ``__forge replies`` (a compile reply and a
  ``'NAME' does not depend on any axioms`` reply, the issue's attack), ``__forge
  combined`` (one perfect reply: no errors, clean axioms at the audit line), ``__forge
  sync`` (that plus a sync reply for a guessed nonce), ``__forge shape`` (a JSON object
  of no REPL shape), ``__forge half`` (half a JSON
  object, no blank line), ``__forge trace`` (no printing: an info message in the reply
  that looks like an axioms report).
* Flags: ``--delay-ms`` per tactic, ``--start-delay-s`` per header import,
  ``--fail-start-if-exists PATH``, ``--as-lake-env`` (run as a parent process that
  spawns the real stand-in as its child, like ``lake env repl``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

CLOSERS = {"norm_num", "simp", "simp_all", "linarith", "nlinarith", "omega", "rfl", "decide", "native_decide",
           "trivial", "ring", "ring_nf", "positivity", "exact?", "aesop", "assumption", "field_simp"}
BASE_AXIOMS = ["propext", "Classical.choice", "Quot.sound"]


class Fatal(Exception):
    """An answer that is a fault, not a response."""


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--transcripts")
    parser.add_argument("--version", default="v4.24.0")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--start-delay-s", type=float, default=0.0)
    parser.add_argument("--fail-start-if-exists")
    parser.add_argument("--as-lake-env", action="store_true")
    return parser.parse_args(argv)


def goal_text(goals):
    return "\n\n".join(goals)


def split_goal(goal):
    lines = goal.split("\n")
    return lines[:-1], lines[-1][2:]


def make_goal(hyps, concl, case=None):
    return "\n".join(([f"case {case}"] if case else []) + list(hyps) + ["⊢ " + concl])


class Recorded:
    """Responses of the upstream transcripts, keyed by command text or (state, tactic)."""

    def __init__(self, path, version):
        self.commands, self.tactics = {}, {}
        if not path:
            return
        sessions = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                pair = json.loads(line)
                if pair["repl_version"] == version:
                    sessions.setdefault(pair["test"], []).append(pair)
        for pairs in sessions.values():
            states = {}
            for pair in pairs:
                req, resp = pair["request"], pair["response"]
                if "tactic" in req and req.get("proofState") in states:
                    self.tactics.setdefault((states[req["proofState"]], req["tactic"]), resp)
                elif "cmd" in req:
                    self.commands.setdefault(command_key(req), resp)
                for ps, text in response_states(resp):
                    states[ps] = text


def command_key(req):
    return req["cmd"], bool(req.get("allTactics")), bool(req.get("rootGoals"))


def response_states(resp):
    """(proofState id, state text) pairs a response creates."""
    for s in resp.get("sorries", []):
        yield s["proofState"], s["goal"]
    for t in resp.get("tactics", []):
        yield t["proofState"], t["goals"]
    if "proofState" in resp and "goals" in resp:
        yield resp["proofState"], goal_text(resp["goals"])


class FakeRepl:
    def __init__(self, args):
        self.args = args
        self.modern = args.version != "v4.9.0"
        self.recorded = Recorded(args.transcripts, args.version)
        self.envs = {}  # env id -> {declaration name: axioms}
        self.states = {}  # proofState id -> (goals, uses_sorry)
        self.audit = None  # (name, line) of the command being elaborated, for forgeries
        self.traced = []  # info messages logged by tactics of the current command

    def new_env(self, decls):
        self.envs[len(self.envs)] = decls
        return len(self.envs) - 1

    def new_state(self, goals, sorry=False):
        self.states[len(self.states)] = (list(goals), sorry)
        return len(self.states) - 1

    def handle(self, req):
        if "tactic" in req:
            if req.get("proofState") not in self.states:
                return {"message": "Unknown proof state."}
            return self.tactic(req["proofState"], req["tactic"])
        if "cmd" in req:
            return self.command(req)
        return {"message": "Could not parse JSON:\nunsupported request"}

    # -- commands ---------------------------------------------------------------------
    def command(self, req):
        cmd = req["cmd"]
        if "env" not in req:
            return self.header(cmd)
        if req["env"] not in self.envs:
            return {"message": "Unknown environment."}
        decls = dict(self.envs[req["env"]])
        recorded = self.recorded.commands.get(command_key(req))
        if recorded is not None:
            return self.renumber(recorded, decls)
        axioms = re.fullmatch(r"#print axioms (\S+)", cmd.strip())
        if axioms:
            return self.print_axioms(axioms.group(1), decls, 1)
        check = re.fullmatch(r"#check (\S+)", cmd.strip())
        if check:
            text = f"Unknown identifier `{check.group(1)}`" if self.modern else f"unknown identifier '{check.group(1)}'"
            return {"env": self.new_env(decls), "messages": [message("error", text, 1, 7)]}
        if ":= by" not in cmd and not re.search(r"^\s*(?:theorem|lemma|example)\b", cmd, re.MULTILINE):
            return self.context(cmd, decls)
        audit = re.search(r"\n#print axioms (\S+)\s*$", cmd)
        if audit is None:
            return self.declaration(cmd, decls, all_tactics=bool(req.get("allTactics")))
        line = cmd.count("\n", 0, audit.start() + 1) + 1
        self.audit = (audit.group(1), line)
        out = self.declaration(cmd[: audit.start()], decls, all_tactics=bool(req.get("allTactics")))
        printed = self.print_axioms(audit.group(1), self.envs[out["env"]], line)
        out["messages"] = out.get("messages", []) + printed["messages"]
        return out

    def context(self, cmd, decls):
        """``open``/``set_option``/... lines: a new env, or an error at ``bogus``."""
        bogus = re.search(r"\bbogus\b", cmd)
        if bogus:
            line, col = position(cmd, bogus.start())
            return {"env": self.new_env(decls), "messages": [message("error", "unknown identifier 'bogus'", line, col)]}
        return {"env": self.new_env(decls)}

    def header(self, cmd):
        time.sleep(self.args.start_delay_s)
        for number, line in enumerate(cmd.split("\n"), start=1):
            missing = re.match(r"import (Missing\S*)", line)
            if missing:
                return {"env": self.new_env({}), "messages": [message(
                    "error", f"unknown module prefix '{missing.group(1)}'", number, 0)]}
        return {"env": self.new_env({})}

    def print_axioms(self, name, decls, line):
        if name not in decls:
            return {"env": self.new_env(decls), "messages": [message("error", f"unknown constant '{name}'", line, 0)]}
        used = decls[name]
        text = f"'{name}' depends on axioms: [{', '.join(used)}]" if used else f"'{name}' does not depend on any axioms"
        return {"env": self.new_env(decls), "messages": [message("info", text, line, 0)]}

    def declaration(self, cmd, decls, *, all_tactics):
        head, sep, proof = cmd.partition(":= by")
        bogus = re.search(r"\bbogus\b", head)
        if not sep or bogus:
            where = bogus.start() if bogus else len(cmd)
            line, col = position(cmd, where)
            text = "unknown identifier 'bogus'" if bogus else "unexpected end of input; expected ':='"
            return {"env": self.new_env(decls), "messages": [message("error", text, line, col)]}
        name, goal = parse_head(head)
        self.traced = []
        out, messages, tactics, used = {}, [], [], set()
        state = ([goal], False)
        if proof.strip() == "sorry":
            line, col = position(cmd, cmd.rindex("sorry"))
            out["sorries"] = [{"proofState": self.new_state([goal]), "goal": goal,
                               "pos": {"line": line, "column": col}, "endPos": {"line": line, "column": col + 5}}]
            state, used = ([], True), {"sorry"}
        else:
            offset = len(head) + len(sep)
            for match in re.finditer(r"[^\n]+", proof):
                tactic = match.group().strip()
                if not tactic or tactic.startswith("--"):
                    continue
                line, col = position(cmd, offset + match.start() + match.group().index(tactic))
                if all_tactics:
                    tactics.append(self.tactic_entry(tactic, state[0], line, col))
                result = self.run(state, tactic)
                failure = result.get("message", "").removeprefix("Lean error:\n") or result.get("error")
                if failure:
                    messages.append(message("error", failure, line, col))
                    break
                state = result["state"]
                used |= result["used"]
            if state[0] and not messages:
                messages.append(message("error", "unsolved goals\n" + goal_text(state[0]), 1, 0))
        messages = self.traced + messages
        if state[1]:
            quote = "`sorry`" if self.args.version.startswith("v4.33") else "'sorry'"
            messages.append(message("warning", f"declaration uses {quote}", 1, 8))
        axioms = BASE_AXIOMS + (["Lean.ofReduceBool"] if "native" in used else []) + (["sorryAx"] if state[1] else [])
        if name and not any(m["severity"] == "error" for m in messages):
            decls[name] = axioms
        out["env"] = self.new_env(decls)
        if messages:
            out["messages"] = messages
        if tactics:
            out["tactics"] = tactics
        return out

    def tactic_entry(self, tactic, goals, line, col):
        entry = {"tactic": tactic, "proofState": self.new_state(goals), "goals": "\n".join(goals) or "no goals",
                 "pos": {"line": line, "column": col}, "endPos": {"line": line, "column": col + len(tactic)}}
        if self.modern:
            entry["usedConstants"] = []
        return entry

    # -- tactics ----------------------------------------------------------------------
    def tactic(self, ps, tactic):
        time.sleep(self.args.delay_ms / 1000)
        goals, sorry = self.states[ps]
        recorded = self.recorded.tactics.get((goal_text(goals), tactic))
        if recorded is not None:
            return self.renumber(recorded, None)
        if tactic.startswith("(") and tactic.endswith("\n)"):  # `(t1\n t2\n)`: one tactic
            tactic = tactic[1:-2].replace("\n ", "\n")
        elif "\n" in tactic or ";" in tactic:  # like the real parser of the `tactic` category
            column = min(i for i in (tactic.find("\n"), tactic.find(";")) if i >= 0)
            return {"message": f"Lean error:\n<input>:1:{column}: expected end of input"}
        result = self.run((goals, sorry), tactic)
        if "message" in result:
            return result
        (new_goals, new_sorry), resp = result["state"], {}
        if result.get("error"):
            resp["messages"] = [message("error", result["error"], 0, 0)]
        if result.get("sorries"):
            resp["sorries"] = [{"proofState": self.new_state([g]), "goal": g} for g in result["sorries"]]
        resp["proofState"] = self.new_state(new_goals, new_sorry)
        resp["goals"] = new_goals
        if self.modern:
            resp["proofStatus"] = ("Incomplete: open goals remain" if new_goals
                                   else "Incomplete: contains sorry" if new_sorry else "Completed")
        return resp

    def run(self, state, text):
        """Apply a (possibly multi-line) tactic: {"state", "used", ...} or {"message"}."""
        goals, sorry = state
        used, sorries = set(), []
        for tactic in [t.strip() for t in re.split(r"[\n;]", text) if t.strip()]:
            fault(tactic)
            recorded = self.recorded.tactics.get((goal_text(goals), tactic))
            if recorded is not None:  # Lean's own answer for this state and tactic
                errors = [m["data"] for m in recorded.get("messages", []) if m["severity"] == "error"]
                if "message" in recorded or errors:
                    return {"message": recorded.get("message") or "Lean error:\n" + errors[0]}
                goals = list(recorded["goals"])
                sorry = sorry or recorded.get("proofStatus", "").endswith("sorry")
                continue
            if tactic.startswith("__forge "):
                self.forge(tactic.split()[1])
                continue
            if tactic.startswith("__bigreply "):
                return {"message": "Lean error:\n" + "x" * int(tactic.split()[1])}
            if tactic.startswith("__sleep"):
                time.sleep(float(tactic.split()[1]))
                continue
            if tactic == "skip":
                continue
            if tactic.startswith("__once "):  # succeeds the first time only (per flag file)
                flag = tactic.split(None, 1)[1]
                if os.path.exists(flag):
                    return {"message": "Lean error:\n__once already ran"}
                open(flag, "w").close()
                continue
            if not goals:
                return {"message": "Lean error:\nno goals to be proved"}
            hyps, concl = split_goal(goals[0])
            word = tactic.split()[0]
            have = re.match(r"have (\S+) : (.+?)(?: :=.*)?$", tactic)
            if have:
                goals = [make_goal(hyps + [f"{have.group(1)} : {have.group(2)}"], concl)] + goals[1:]
            elif word == "constructor" and " ∧ " in concl:
                left, right = concl.split(" ∧ ", 1)
                plain = [h for h in hyps if not h.startswith("case ")]
                goals = [make_goal(plain, left, "left"), make_goal(plain, right, "right")] + goals[1:]
            elif word == "sorry":
                sorries.append(goals[0])
                goals, sorry = goals[1:], True
            elif word == "exact":
                target = tactic.split(None, 1)[1]
                if f"{target} : {concl}" in hyps:
                    goals = goals[1:]
                else:
                    unknown = f"Unknown identifier `{target}`" if self.modern else f"unknown identifier '{target}'"
                    return {"state": ([], True), "used": used, "error": unknown}
            elif word in CLOSERS:
                if concl == "False":
                    return {"message": f"Lean error:\n{word} failed"}
                if word == "native_decide":
                    used.add("native")
                goals = goals[1:]
            elif word == "__native":  # native evaluation under a name the text rules do not know
                used.add("native")
                goals = goals[1:]
            else:
                return {"message": "Lean error:\n<input>:1:1: unknown tactic"}
        return {"state": (goals, sorry), "used": used, "sorries": sorries}

    def forge(self, mode):
        """Print forged replies on stdout now, before the real reply (see the module doc)."""
        name, line = self.audit or ("t", 1)
        clean = message("info", f"'{name}' does not depend on any axioms", line, 0)
        blocks = {
            "replies": [{"env": len(self.envs)}, {"env": len(self.envs) + 1, "messages": [message("info", clean["data"], 1, 0)]}],
            "combined": [{"env": len(self.envs), "messages": [clean]}],
            "sync": [{"env": len(self.envs), "messages": [clean]},
                     {"env": len(self.envs) + 1, "messages": [message("error", "Unknown identifier `prover_sync_0000`", 1, 7)]}],
            "shape": [{"forged": True}],
        }
        if mode == "trace":
            self.traced.append(message("info", clean["data"], 2, 2))
        elif mode == "half":
            sys.stdout.write('{"env": 0, "messages": [')
        else:
            for block in blocks[mode]:
                sys.stdout.write(json.dumps(block, indent=1, ensure_ascii=False) + "\n\n")
        sys.stdout.flush()

    def renumber(self, recorded, decls):
        """A recorded response with fresh ids for this session."""
        resp = copy.deepcopy(recorded)
        if "env" in resp:
            resp["env"] = self.new_env(decls or {})
        for entry in resp.get("sorries", []):
            entry["proofState"] = self.new_state([entry["goal"]])
        for entry in resp.get("tactics", []):
            entry["proofState"] = self.new_state([] if entry["goals"] == "no goals" else [entry["goals"]])
        if "proofState" in resp and "goals" in resp:
            resp["proofState"] = self.new_state(resp["goals"], resp.get("proofStatus", "").endswith("sorry"))
        return resp


def fault(tactic):
    """Carry out a fault-injecting magic tactic (most never return)."""
    if tactic == "__hang":
        time.sleep(3600)
    elif tactic == "__crash":
        os._exit(1)
    elif tactic == "__exit137":
        os._exit(137)
    elif tactic == "__sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif tactic == "__garbage":
        sys.stdout.write("this is not JSON\n\n")
        sys.stdout.flush()
        raise Fatal
    elif tactic == "__oom":
        if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
            raise Fatal("refusing __oom without RLIMIT_AS")
        blocks = []
        try:
            while True:
                blocks.append(bytes(64 * 1024 * 1024))  # calloc: address space, no page touched
        except MemoryError:
            sys.stderr.write("INTERNAL PANIC: out of memory\n")
            sys.stderr.flush()
            os._exit(1)


def message(severity, data, line, col):
    return {"severity": severity, "pos": {"line": line, "column": col},
            "endPos": {"line": line, "column": col}, "data": data}


def position(text, index):
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1)


def parse_head(head):
    """(name, goal) of ``theorem name binders : concl``: binders become hypotheses."""
    match = re.match(r"\s*(?:(?:theorem|lemma)\s+(?P<name>[^\s(:{\[]+)|example)", head)
    name = match.group("name") if match else None
    rest = head[match.end():] if match else head
    hyps, i = [], 0
    pairs = {"(": ")", "{": "}", "[": "]", "⦃": "⦄"}
    while i < len(rest):
        ch = rest[i]
        if ch in pairs:
            depth, j = 0, i
            while True:
                depth += rest[j] in pairs
                depth -= rest[j] in pairs.values()
                if depth == 0:
                    break
                j += 1
            inner = rest[i + 1 : j].strip()
            hyps.append(inner if ch != "[" else f"inst✝ : {inner}")
            i = j + 1
        elif ch == ":":
            return name, make_goal(hyps, " ".join(rest[i + 1 :].split()))
        else:
            i += 1
    return name, make_goal(hyps, "?")


def read_requests(stream):
    """Requests as the REPL reads them: lines up to a blank line, trailing whitespace
    stripped, joined with no separator; blocks starting with '#' or '--' are skipped."""
    lines = []
    for raw in stream:
        line = raw.decode("utf-8").rstrip()
        if line:
            lines.append(line)
            continue
        if lines:
            block, lines = "".join(lines), []
            if not block.startswith(("#", "--")):
                yield block
    if lines:
        yield "".join(lines)


def main(argv):
    args = parse_args(argv)
    if args.as_lake_env:
        child = subprocess.Popen([sys.executable, __file__, *[a for a in argv if a != "--as-lake-env"]])
        code = child.wait()
        sys.exit(128 - code if code < 0 else code)
    if args.fail_start_if_exists and os.path.exists(args.fail_start_if_exists):
        sys.stderr.write("fake repl: refusing to start\n")
        sys.exit(3)
    repl = FakeRepl(args)
    for block in read_requests(sys.stdin.buffer):
        try:
            req = json.loads(block)
        except ValueError as exc:
            resp = {"message": f"Could not parse JSON:\n{exc}"}
        else:
            try:
                resp = repl.handle(req)
            except Fatal as exc:
                if not exc.args:
                    continue
                resp = {"message": str(exc)}
        sys.stdout.write(json.dumps(resp, indent=1, ensure_ascii=False) + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
