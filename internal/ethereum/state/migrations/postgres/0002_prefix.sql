-- Every table of a domain carries the domain's name, so domains sharing one
-- database (or schema) never collide; so do its indexes, constraints and
-- sequences, whose names are per schema.
ALTER TABLE peers RENAME TO ethereum_peers;
ALTER TABLE discoveries RENAME TO ethereum_discoveries;
ALTER TABLE observations RENAME TO ethereum_observations;
ALTER TABLE subscription_changes RENAME TO ethereum_subscription_changes;
ALTER TABLE ip_info RENAME TO ethereum_ip_info;
ALTER TABLE estimates RENAME TO ethereum_estimates;

ALTER INDEX peers_pkey RENAME TO ethereum_peers_pkey;
ALTER INDEX peers_network_last_seen RENAME TO ethereum_peers_network_last_seen;
ALTER INDEX peers_ip RENAME TO ethereum_peers_ip;
ALTER INDEX discoveries_pkey RENAME TO ethereum_discoveries_pkey;
ALTER INDEX discoveries_time RENAME TO ethereum_discoveries_time;
ALTER INDEX observations_pkey RENAME TO ethereum_observations_pkey;
ALTER INDEX observations_msg_id_key RENAME TO ethereum_observations_msg_id_key;
ALTER INDEX observations_peer_time RENAME TO ethereum_observations_peer_time;
ALTER INDEX observations_network_time RENAME TO ethereum_observations_network_time;
ALTER INDEX subscription_changes_pkey RENAME TO ethereum_subscription_changes_pkey;
ALTER INDEX subscription_changes_msg_id_key RENAME TO ethereum_subscription_changes_msg_id_key;
ALTER INDEX subscription_changes_peer_time RENAME TO ethereum_subscription_changes_peer_time;
ALTER INDEX subscription_changes_network_time RENAME TO ethereum_subscription_changes_network_time;
ALTER INDEX ip_info_pkey RENAME TO ethereum_ip_info_pkey;
ALTER INDEX estimates_pkey RENAME TO ethereum_estimates_pkey;
ALTER SEQUENCE observations_id_seq RENAME TO ethereum_observations_id_seq;
ALTER SEQUENCE subscription_changes_id_seq RENAME TO ethereum_subscription_changes_id_seq;
