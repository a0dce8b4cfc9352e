"""Work units through the store: many workers, on one host or many, share a measuring command.

A command lists its units (variants to quantize; (variant, suite) pairs to evaluate) under a
``job`` id made of the options that shape its results, and inserts the ones the store lacks
(unique keys: every worker may plan, no unit is listed twice). A worker then claims one unit
at a time: on PostgreSQL the candidate rows are read ``FOR UPDATE SKIP LOCKED`` (workers never
wait on each other's candidates), and on both databases the claim itself is a conditional
``UPDATE … WHERE state is claimable`` whose row count says whether this worker won it, so two
workers never hold one unit. A claimed unit carries a lease that a background thread renews
while the worker runs it; a unit whose lease ran out (host died, ``kill -9``) is claimable
again, and so at once is one whose owner is a process of this host that no longer exists.
Ctrl-C hands the unit back. Results are written by the commands themselves under the store's
unique keys, so a unit run twice after a lost lease stores nothing twice.

This is the scheme Optuna's RDB storage uses for trials (one database row per piece of work,
state changed in a transaction), kept inside the store rather than a separate queue service.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, case, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from codesign.store import Store, WorkUnitRow

PENDING, CLAIMED, DONE = "pending", "claimed", "done"
BACK_TO_PENDING = {"state": PENDING, "owner": None, "lease_until": None}
# a unit not renewed for this long is claimable again; renewed every quarter of it
LEASE_S = float(os.environ.get("CODESIGN_LEASE_S", "120"))
RENEW_S = LEASE_S / 4
WORKER_FLAG = "--worker"  # the hidden flag of a process started by --workers N


@dataclass(frozen=True)
class Unit:
    id: int
    key: str
    describe: str


def _host() -> str:
    """This worker's host name: ``$CODESIGN_WORKER_HOST`` (e.g. a Slurm job id) or the
    machine's."""
    return os.environ.get("CODESIGN_WORKER_HOST") or socket.gethostname()


def owner_name() -> str:
    """host:pid of this worker (status shows it; a dead local pid frees its unit at once)."""
    return f"{_host()}:{os.getpid()}"


def job_id(kind: str, **options: object) -> str:
    """A stable id of a command's work: its kind and the options that shape its results."""
    text = json.dumps({"kind": kind, **options}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def plan(
    store: Store,
    kind: str,
    job: str,
    units: Sequence[tuple[str, str]],
    reopen: Iterable[str] = (),
) -> None:
    """Insert the (key, description) units the store lacks for ``job``; units in ``reopen``
    that are done go back to pending (their results turned out incomplete)."""
    reopen = list(reopen)
    if reopen:
        with store.session() as s:
            s.execute(
                update(WorkUnitRow)
                .where(
                    WorkUnitRow.job == job, WorkUnitRow.key.in_(reopen), WorkUnitRow.state == DONE
                )
                .values(**BACK_TO_PENDING)
            )
    for attempt in range(3):  # workers starting together may insert the same units
        try:
            with store.session() as s:
                have = set(s.scalars(select(WorkUnitRow.key).where(WorkUnitRow.job == job)))
                rows = [
                    {"kind": kind, "job": job, "key": k, "describe": d, "state": PENDING,
                     "attempts": 0}
                    for k, d in units
                    if k not in have
                ]  # fmt: skip
                if rows:
                    s.execute(insert(WorkUnitRow), rows)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            time.sleep(0.1)


def _claimable(now: float):
    return or_(
        WorkUnitRow.state == PENDING,
        and_(WorkUnitRow.state == CLAIMED, WorkUnitRow.lease_until < now),
    )


def _free_dead_local_owners(store: Store, job: str) -> None:
    """Units claimed by a process of this host that has exited go back to pending."""
    host = _host()
    with store.session() as s:
        owners = set(
            s.scalars(
                select(WorkUnitRow.owner).where(
                    WorkUnitRow.job == job,
                    WorkUnitRow.state == CLAIMED,
                    WorkUnitRow.owner.like(f"{host}:%"),
                )
            )
        )
    dead = [o for o in owners if o and not _alive(int(o.rsplit(":", 1)[1]))]
    if dead:
        with store.session() as s:
            s.execute(
                update(WorkUnitRow)
                .where(
                    WorkUnitRow.job == job,
                    WorkUnitRow.state == CLAIMED,
                    WorkUnitRow.owner.in_(dead),
                )
                .values(**BACK_TO_PENDING)
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


GROUP_SEP = "|"  # a unit's key up to it names its group (evaluate: the variant)


def claim(
    store: Store,
    job: str,
    owner: str,
    prefer: str | None = None,
    skip: Collection[str] = (),
) -> Unit | None:
    """The next claimable unit of ``job``, now held by ``owner``; None when none is left.
    Units whose key starts with ``prefer`` come first (a worker keeps the variant it has
    loaded), then units of groups no other worker is running (so that two workers load
    different variants instead of each loading every one), then the rest: at the end a worker
    joins another's group rather than idle. Keys in ``skip`` are never claimed."""
    _free_dead_local_owners(store, job)
    for _ in range(20):  # lost races: another worker won the candidates; read again
        now = time.time()
        order = [WorkUnitRow.id]
        busy = _groups_held_by_others(store, job, owner, now)
        if busy:
            held = [(WorkUnitRow.key.startswith(g + GROUP_SEP), 1) for g in sorted(busy)]
            order.insert(0, case(*held, else_=0))
        if prefer:
            order.insert(0, case((WorkUnitRow.key.startswith(prefer), 0), else_=1))
        with store.session() as s:
            q = (
                select(WorkUnitRow.id, WorkUnitRow.key, WorkUnitRow.describe)
                .where(WorkUnitRow.job == job, _claimable(now))
                .where(WorkUnitRow.key.not_in(list(skip)) if skip else true())
                .order_by(*order)
                .limit(4)
            )
            if store.engine.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            candidates = s.execute(q).all()
            if not candidates:
                return None
            for uid, key, describe in candidates:
                won = s.execute(
                    update(WorkUnitRow)
                    .where(WorkUnitRow.id == uid, _claimable(now))
                    .values(
                        state=CLAIMED,
                        owner=owner,
                        lease_until=now + LEASE_S,
                        claimed_at=now,
                        attempts=WorkUnitRow.attempts + 1,
                    )
                ).rowcount
                if won == 1:
                    return Unit(uid, key, describe)
        time.sleep(0.05)
    return None


def _groups_held_by_others(store: Store, job: str, owner: str, now: float) -> set[str]:
    """Groups of the units other owners hold under a live lease (keys with a GROUP_SEP)."""
    with store.session() as s:
        keys = s.scalars(
            select(WorkUnitRow.key).where(
                WorkUnitRow.job == job,
                WorkUnitRow.state == CLAIMED,
                WorkUnitRow.owner != owner,
                WorkUnitRow.lease_until >= now,
            )
        ).all()
    return {k.split(GROUP_SEP, 1)[0] for k in keys if GROUP_SEP in k}


def renew(store: Store, unit: Unit, owner: str) -> bool:
    """Extend the lease; False when the unit is no longer this owner's."""
    with store.session() as s:
        return (
            s.execute(
                update(WorkUnitRow)
                .where(
                    WorkUnitRow.id == unit.id,
                    WorkUnitRow.owner == owner,
                    WorkUnitRow.state == CLAIMED,
                )
                .values(lease_until=time.time() + LEASE_S)
            ).rowcount
            == 1
        )


def finish_in(session, unit: Unit, owner: str, seconds: float) -> None:
    """Mark the unit done within ``session``'s transaction (with the unit's last results)."""
    session.execute(
        update(WorkUnitRow)
        .where(WorkUnitRow.id == unit.id, WorkUnitRow.owner == owner)
        .values(state=DONE, lease_until=None, seconds=seconds)
    )


def finish(store: Store, unit: Unit, owner: str, seconds: float) -> None:
    with store.session() as s:
        finish_in(s, unit, owner, seconds)


class Completion:
    """Given to a unit's body: called with a session, it marks the unit done in that
    transaction, so a body that writes its last results there commits both at once (a worker
    that dies between the two can then leave neither a finished unit without its results nor
    results of a unit still open). Every unit is marked done again after its body returns
    (a body that never called it, or whose transaction rolled back)."""

    def __init__(self, unit: Unit, owner: str) -> None:
        self.unit, self.owner = unit, owner
        self.start = time.perf_counter()

    def __call__(self, session) -> None:
        finish_in(session, self.unit, self.owner, time.perf_counter() - self.start)


def release(store: Store, unit: Unit, owner: str) -> None:
    """Hand a unit back unfinished (Ctrl-C, an error): pending again, for anyone."""
    with store.session() as s:
        s.execute(
            update(WorkUnitRow)
            .where(WorkUnitRow.id == unit.id, WorkUnitRow.owner == owner)
            .values(**BACK_TO_PENDING)
        )


@contextmanager
def leased(store: Store, unit: Unit, owner: str) -> Iterator[Completion]:
    """Renew the unit's lease every RENEW_S seconds while the body runs; the body may mark it
    done with its last results (the Completion it is given), else it is marked done when the
    body returns; it is handed back when the body raises (Ctrl-C included)."""
    stop = threading.Event()
    completion = Completion(unit, owner)

    def keep() -> None:
        while not stop.wait(RENEW_S):
            with contextlib.suppress(Exception):  # transient: the next renewal tries again
                renew(store, unit, owner)

    thread = threading.Thread(target=keep, name=f"lease-{unit.id}", daemon=True)
    thread.start()
    try:
        yield completion
    except BaseException:
        stop.set()
        with contextlib.suppress(Exception):  # else its lease runs out
            release(store, unit, owner)
        raise
    stop.set()
    # again when the body committed it (the same values): its transaction may have rolled back
    finish(store, unit, owner, time.perf_counter() - completion.start)


def work_through(
    store: Store,
    job: str,
    run: Callable[[Unit, Completion], None],
    prefer: Callable[[], str | None] = lambda: None,
    *,
    known: Collection[str] | None = None,
    wait: bool = False,
    poll_s: float = 2.0,
) -> int:
    """Claim and run units of ``job`` until none is claimable; returns how many ran here.
    ``run`` gets the unit and its Completion (to commit the unit with its last results).
    A unit whose key is not in ``known`` (a definition this command lacks) is handed back and
    never claimed again here. ``wait``: when nothing is claimable but units are still held
    elsewhere, wait for them, retaking any whose lease runs out (its worker died), until every
    unit of the job is done."""
    owner, ran, skip, said = owner_name(), 0, set(), False
    while True:
        while (unit := claim(store, job, owner, prefer(), skip)) is not None:
            if known is not None and unit.key not in known:
                release(store, unit, owner)
                skip.add(unit.key)
                continue
            with leased(store, unit, owner) as completion:
                run(unit, completion)
            ran += 1
        state = open_units(store, job, skip)
        if not wait or not state.held:
            return ran
        if not said:
            said = True
            print(f"waiting for {state.describe()}", flush=True)
        time.sleep(min(poll_s, max(0.1, state.next_expiry_s)))


@dataclass(frozen=True)
class OpenUnits:
    """Units of a job not done: pending, held under a live lease, held under an expired one."""

    pending: int
    running: int
    expired: int
    next_expiry_s: float  # until the first live lease runs out (inf when none)

    @property
    def held(self) -> int:
        return self.running + self.expired

    def describe(self) -> str:
        parts = []
        if self.running:
            parts.append(
                f"{self.running} units other workers hold (the first lease ends in "
                f"{self.next_expiry_s:.0f} s unless renewed; then the unit is retaken here)"
            )
        if self.expired:
            parts.append(f"{self.expired} units whose lease ran out (their worker died?)")
        if self.pending:
            parts.append(f"{self.pending} pending")
        return "; ".join(parts) or "nothing"


def open_units(store: Store, job: str, skip: Collection[str] = ()) -> OpenUnits:
    """Where ``job``'s unfinished units stand now (keys in ``skip`` left out)."""
    now = time.time()
    with store.session() as s:
        rows = s.execute(
            select(WorkUnitRow.key, WorkUnitRow.state, WorkUnitRow.lease_until).where(
                WorkUnitRow.job == job, WorkUnitRow.state != DONE
            )
        ).all()
    rows = [r for r in rows if r.key not in skip]
    live = [r.lease_until for r in rows if r.state == CLAIMED and (r.lease_until or 0) >= now]
    return OpenUnits(
        pending=sum(r.state == PENDING for r in rows),
        running=len(live),
        expired=sum(r.state == CLAIMED and (r.lease_until or 0) < now for r in rows),
        next_expiry_s=min(live) - now if live else math.inf,
    )


def leftover_line(store: Store, job: str) -> str | None:
    """What a worker that stops without waiting leaves behind, in one line (None: nothing)."""
    state = open_units(store, job)
    if not state.held and not state.pending:
        return None
    if state.running:
        return (
            f"nothing left to claim here; {state.running} units are held by another worker "
            f"(the first lease ends in {state.next_expiry_s:.0f} s unless renewed): their "
            "results are missing from this summary until it finishes; rerun with --wait to "
            "wait for it (and retake its units should it have died)"
        )
    return (
        f"{state.held + state.pending} units were not finished (their worker died or was "
        "stopped); rerun the same command to run them"
    )


def counts(store: Store, job: str) -> dict[str, int]:
    with store.session() as s:
        states = list(s.scalars(select(WorkUnitRow.state).where(WorkUnitRow.job == job)))
    return {st: states.count(st) for st in (PENDING, CLAIMED, DONE)}


def progress_line(store: Store, job: str) -> str:
    """Units done / running / expired / pending of ``job`` and an ETA from the finished units'
    mean time, over the workers now holding live units (at least one). A unit whose lease ran
    out is not running: its worker died or hung, and the next claim retakes it."""
    now = time.time()
    with store.session() as s:
        rows = s.execute(
            select(
                WorkUnitRow.state, WorkUnitRow.seconds, WorkUnitRow.owner, WorkUnitRow.lease_until
            ).where(WorkUnitRow.job == job)
        ).all()
    done = [r.seconds for r in rows if r.state == DONE and r.seconds is not None]
    live = [r for r in rows if r.state == CLAIMED and (r.lease_until or 0) >= now]
    expired = sum(r.state == CLAIMED and (r.lease_until or 0) < now for r in rows)
    pending = sum(r.state == PENDING for r in rows)
    text = f"{sum(r.state == DONE for r in rows)}/{len(rows)} units done, {len(live)} running"
    if expired:
        text += f", {expired} expired (lease ran out: retaken by the next worker to claim)"
    text += f", {pending} pending"
    if done and live:
        workers = max(1, len({r.owner for r in live}))
        eta = sum(done) / len(done) * (len(live) + pending + expired) / workers
        text += f", ETA {eta / 60:.0f} min" if eta >= 90 else f", ETA {eta:.0f} s"
    return text


def job_summaries(store: Store) -> list[dict]:
    """Every job in the store, newest first: its progress line and its units not yet done
    (running ones with their worker, claim age and lease left)."""
    now = time.time()
    with store.session() as s:
        rows = s.execute(select(WorkUnitRow).order_by(WorkUnitRow.id)).scalars().all()
    jobs: dict[str, list[WorkUnitRow]] = {}
    for r in rows:
        jobs.setdefault(r.job, []).append(r)
    out = []
    for job, units in reversed(list(jobs.items())):
        unfinished = [
            {
                "key": u.key,
                "describe": u.describe,
                "state": _shown_state(u, now),
                "owner": u.owner,
                "claimed_s_ago": None
                if u.claimed_at is None or u.state != CLAIMED
                else now - u.claimed_at,
                "lease_left_s": None
                if u.lease_until is None or u.lease_until < now
                else u.lease_until - now,
                "expired_s_ago": now - u.lease_until
                if u.lease_until is not None and u.lease_until < now
                else None,
                "attempts": u.attempts,
            }
            for u in units
            if u.state != DONE
        ]
        out.append(
            {
                "kind": units[0].kind,
                "job": job,
                "progress": progress_line(store, job),
                "units": len(units),
                "open": unfinished,
            }
        )
    return out


def _shown_state(unit: WorkUnitRow, now: float) -> str:
    """pending / claimed, or expired: claimed but its lease ran out (claimable again)."""
    if unit.state == CLAIMED and (unit.lease_until or 0) < now:
        return "expired"
    return unit.state
