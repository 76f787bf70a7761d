"""Tortoise's asyncpg client and transaction wrappers, recording the tables each statement touches
(models/touched.py), for the response cache's invalidation.

Used through `models.db.tortoise_config`: `{"engine": "models.postgres_client", ...}`.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext, TransactionContextPooled

from models.touched import RecordingClient, RecordingTransaction


class RecordingAsyncpgClient(RecordingClient, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return TransactionContextPooled(RecordingAsyncpgTransaction(self), self._pool_init_lock)


class RecordingAsyncpgTransaction(RecordingTransaction, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(RecordingAsyncpgTransaction(self))


client_class = RecordingAsyncpgClient
