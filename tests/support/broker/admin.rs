//! The admin REST API of a [`Broker`]: any request, topic stats and subscription backlogs (and
//! polling them), creating, unloading, terminating and deleting topics and subscriptions. On the
//! auth instance these calls carry the admin token.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::{http_request, HttpResponse};
use super::names::{encode_segment, topic_path};
use super::{Broker, BrokerError};

impl Broker {
    /// Any admin request. `path` starts with `/admin/...`; `token` overrides the default token
    /// (`Some("")` sends no token at all).
    pub async fn admin_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        let token = match token {
            Some("") => None,
            Some(t) => Some(t),
            None => self.tokens.admin.as_deref(),
        };
        http_request(
            method,
            &format!("{}{}", self.admin_url, path),
            token,
            body,
            Duration::from_secs(60),
        )
        .await
    }

    pub async fn admin_get(&self, path: &str) -> Result<HttpResponse, BrokerError> {
        self.admin_request("GET", path, None, None).await
    }

    pub async fn admin_put(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        self.admin_request("PUT", path, None, body).await
    }

    pub async fn admin_post(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        self.admin_request("POST", path, None, body).await
    }

    pub async fn admin_delete(&self, path: &str) -> Result<HttpResponse, BrokerError> {
        self.admin_request("DELETE", path, None, None).await
    }

    /// `GET /admin/v2/<topic path>/stats`. Panics unless 200.
    pub async fn topic_stats(&self, topic: &str) -> Value {
        let path = format!("/admin/v2/{}/stats", topic_path(topic));
        let resp = self.admin_get(&path).await.expect("admin GET stats");
        resp.expect_success(&format!("GET {path}"));
        resp.json()
            .unwrap_or_else(|e| panic!("GET {path}: {e}: {}", resp.text()))
    }

    /// `msgBacklog` of one subscription; `None` when the topic has no such subscription.
    pub async fn subscription_backlog(&self, topic: &str, subscription: &str) -> Option<u64> {
        self.topic_stats(topic).await["subscriptions"][subscription]["msgBacklog"].as_u64()
    }

    /// Polls `subscription_backlog` until it equals `expected` (acks reach the broker
    /// asynchronously). Returns the last value seen; check it.
    pub async fn wait_for_backlog(
        &self,
        topic: &str,
        subscription: &str,
        expected: u64,
        timeout: Duration,
    ) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.subscription_backlog(topic, subscription).await;
            if got == Some(expected) || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Names of the subscriptions on a topic.
    pub async fn subscriptions(&self, topic: &str) -> Vec<String> {
        match self.topic_stats(topic).await["subscriptions"].as_object() {
            Some(m) => m.keys().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// `PUT .../unload`: the broker closes the topic, so every producer/consumer/reader on it
    /// (the WebSocket service's too) is disconnected and reconnects. Panics unless 2xx.
    pub async fn unload(&self, topic: &str) {
        let path = format!("/admin/v2/{}/unload", topic_path(topic));
        let resp = self.admin_put(&path, None).await.expect("admin PUT unload");
        resp.expect_success(&format!("PUT {path}"));
    }

    /// Creates a non-partitioned topic. Panics unless 2xx or 409 (already exists).
    pub async fn create_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}", topic_path(topic));
        let resp = self.admin_put(&path, None).await.expect("admin PUT topic");
        if resp.status != 409 {
            resp.expect_success(&format!("PUT {path}"));
        }
    }

    /// Creates a partitioned topic with `partitions` partitions. Panics unless 2xx.
    pub async fn create_partitioned_topic(&self, topic: &str, partitions: u32) {
        let path = format!("/admin/v2/{}/partitions", topic_path(topic));
        let resp = self
            .admin_put(&path, Some(&Value::from(partitions)))
            .await
            .expect("admin PUT partitions");
        resp.expect_success(&format!("PUT {path}"));
    }

    /// Creates a durable subscription at the earliest (`true`) or latest position.
    /// Panics unless 2xx or 409 (already exists).
    pub async fn create_subscription(&self, topic: &str, subscription: &str, earliest: bool) {
        let path = format!(
            "/admin/v2/{}/subscription/{}",
            topic_path(topic),
            encode_segment(subscription)
        );
        let body = serde_json::json!({
            "ledgerId": if earliest { 0i64 } else { i64::MAX },
            "entryId": if earliest { 0i64 } else { i64::MAX },
            "partitionIndex": -1,
        });
        let resp = self
            .admin_put(&path, Some(&body))
            .await
            .expect("admin PUT subscription");
        if resp.status != 409 {
            resp.expect_success(&format!("PUT {path}"));
        }
    }

    /// Deletes a subscription (`force=true` also disconnects its consumers). Panics unless 2xx
    /// or 404.
    pub async fn delete_subscription(&self, topic: &str, subscription: &str) {
        let path = format!(
            "/admin/v2/{}/subscription/{}?force=true",
            topic_path(topic),
            encode_segment(subscription)
        );
        let resp = self
            .admin_delete(&path)
            .await
            .expect("admin DELETE subscription");
        if resp.status != 404 {
            resp.expect_success(&format!("DELETE {path}"));
        }
    }

    /// Deletes a topic (`force=true`). Panics unless 2xx or 404.
    pub async fn delete_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}?force=true", topic_path(topic));
        let resp = self.admin_delete(&path).await.expect("admin DELETE topic");
        if resp.status != 404 {
            resp.expect_success(&format!("DELETE {path}"));
        }
    }

    /// `POST .../terminate`: no more messages can be published (readers then see end of topic).
    pub async fn terminate_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}/terminate", topic_path(topic));
        let resp = self
            .admin_post(&path, None)
            .await
            .expect("admin POST terminate");
        resp.expect_success(&format!("POST {path}"));
    }
}
