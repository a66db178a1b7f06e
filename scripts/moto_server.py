"""The pinned moto server, with DynamoDB's per-item atomicity.

moto's server handles requests on threads and its DynamoDB backend reads, changes and writes an
item without a lock, so two concurrent conditional UpdateItem calls can both pass their condition
and one append is lost. Real DynamoDB applies each write to an item atomically, and the case
ledger's concurrency tests (concurrent duplicate deliveries) depend on exactly that. One lock
around the item operations gives the emulator the same guarantee; nothing else changes.
"""

import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_ITEM_LOCK = threading.RLock()


def _atomic(operation):
    def locked(self, *args, **kwargs):
        with _ITEM_LOCK:
            return operation(self, *args, **kwargs)

    locked.__name__ = operation.__name__
    return locked


for _name in ("put_item", "get_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main())
