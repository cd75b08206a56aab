//! v2 rdma: `rdma.max`, the same lines as on v1.

pub use super::super::v1::rdma::apply;
