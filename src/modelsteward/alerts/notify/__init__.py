"""Notifications: route incident events by their labels to receivers, through a durable outbox.

``Notification`` is what the alert state machine emits; ``Dispatcher.submit`` enqueues it
(never raising on delivery problems, never blocking), ``Dispatcher.deliver_due`` sends what is
due, grouped and rate-limited per route, retrying failures with backoff.
"""

from modelsteward.alerts.notify.dispatcher import DeliveryReport, Dispatcher
from modelsteward.alerts.notify.model import KINDS, Notification, NotificationKind

__all__ = ["KINDS", "DeliveryReport", "Dispatcher", "Notification", "NotificationKind"]
