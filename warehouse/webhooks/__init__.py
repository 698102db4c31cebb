"""Outbound stock-sync webhooks: subscriptions, a transactional outbox and its dispatcher."""
