//! TCP connections through the egress guard (to be written by the network work package).
