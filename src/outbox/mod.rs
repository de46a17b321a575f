//! Outbox: composing and delivering every mail `doorstroom` sends.
