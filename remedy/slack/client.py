"""Build Slack Web API clients that retry 429 (honouring Retry-After) and time out."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

# chat.postMessage is ~1 message/s/channel; three waits of Retry-After is plenty before giving up.
RATE_LIMIT_RETRIES = 3


def web_client(token: str, base_url: str, timeout: float = 10.0) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=int(max(timeout, 1)),
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
                                     ConnectionErrorRetryHandler(max_retry_count=1)])


def webhook_client(url: str, timeout: float = 10.0) -> WebhookClient:
    return WebhookClient(url, timeout=int(max(timeout, 1)),
                         retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
                                         ConnectionErrorRetryHandler(max_retry_count=1)])
