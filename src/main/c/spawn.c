/* placeholder: replaced by the clone3 spawn helper */
int rund_spawn_placeholder;
