"""Merging SQLite's full-text index segments, step by step (`community-api compact-search`).

FTS5 writes each transaction's words as a new segment and merges them only partly as it goes: 14
segments after `seed --scale 100000`, more where posts come one at a time. Every search reads
every segment of each word it looks up, so the posts statement took about twice as long with 14
as with one (bench/RESULTS.md, "Search"). FTS5's `'optimize'` merges them all, but in one
transaction: 7.5 s at 300,000 posts, with every writer waiting. FTS5's `'merge'` with a negative
page count works toward one segment in steps of that many pages, each step its own transaction
(about 0.1 s; the longest measured 1.2 s at 300,000 posts, under the 5 s busy timeout writers
wait), until a step finds nothing to do. PostgreSQL's GIN indexes need nothing of this: its
autovacuum merges their pending entries.
"""

from __future__ import annotations

from tortoise import connections

from models.search import KINDS

# Index pages one step writes.
STEP_PAGES = 500
# Steps one index is given (2.5 million pages, 10 GB of index at FTS5's 4 KB pages): writers
# adding segments as fast as the steps merge them cannot keep the command running.
MAX_STEPS = 5_000


def sqlite_indexes() -> list[str]:
    """The FTS5 tables migrations 0007 and 0010 made: one per searched table."""
    return [kind.index for kind in KINDS.values()]


async def segments(index: str) -> int:
    """How many segments the FTS5 table `index` holds now (its `_idx` table: rows per segment)."""
    _, rows = await connections.get("default").execute_query(f'SELECT COUNT(DISTINCT "segid") FROM "{index}_idx"')
    return int(rows[0][0])


async def _total_changes() -> int:
    _, rows = await connections.get("default").execute_query("SELECT total_changes()")
    return int(rows[0][0])


async def compact_search_indexes() -> dict[str, tuple[int, int]]:
    """Merge each FTS5 index into one segment, in steps of STEP_PAGES pages: per index, its
    segments before and after. Nothing on PostgreSQL (an empty answer)."""
    db = connections.get("default")
    if db.capabilities.dialect != "sqlite":
        return {}
    merged = {}
    for index in sqlite_indexes():
        before = await segments(index)
        for _ in range(MAX_STEPS):
            # total_changes() counts the rows a step wrote: under 2, it found nothing to merge.
            changes_before = await _total_changes()
            await db.execute_query(f"INSERT INTO \"{index}\"(\"{index}\", rank) VALUES ('merge', -{STEP_PAGES})")
            if await _total_changes() - changes_before < 2:
                break
        merged[index] = (before, await segments(index))
    return merged
