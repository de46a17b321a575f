//! Periodic jobs: agenda, escalations, digests, retention.
