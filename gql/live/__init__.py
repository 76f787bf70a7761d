"""Subscriptions: the event broker (in process or Redis), the channels mutations publish on, the Subscription root."""
