"""Every table, imported in one place so that metadata is complete (Alembic, tests)."""

from warehouse.accounts.models import ApiToken, AuthSession, LoginEvent, User
from warehouse.audit.models import AuditEvent
from warehouse.catalog.models import Item, ItemBarcode, Lot, PackSize, SerialNumber
from warehouse.db import Base
from warehouse.idempotency import IdempotencyRecord
from warehouse.locations.models import Location, Warehouse, Zone
from warehouse.orders.models import Order, OrderAllocation, OrderLine, PostalCode
from warehouse.replenishment.models import PurchaseOrder, PurchaseOrderLine, ReplenishmentRule
from warehouse.scanning.models import ScanLog
from warehouse.stock.models import LedgerHead, Move, MoveSerial, StockLevel
from warehouse.tasks.models import Confirmation, Discrepancy, Task, TaskLine, VerificationPolicy
from warehouse.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiToken", "AuditEvent", "AuthSession", "Base", "IdempotencyRecord", "Item", "ItemBarcode", "LedgerHead",
    "Location", "LoginEvent", "Lot", "Move", "MoveSerial", "PackSize", "ScanLog", "SerialNumber", "StockLevel",
    "User", "Warehouse", "Zone", "Task", "TaskLine", "Confirmation", "Discrepancy", "VerificationPolicy",
    "WebhookAttempt", "WebhookDelivery", "WebhookSubscription", "Order", "OrderAllocation", "OrderLine",
    "PostalCode", "PurchaseOrder", "PurchaseOrderLine", "ReplenishmentRule",
]
