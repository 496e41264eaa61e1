package io.rund.cluster;

/**
 * One member of the fleet as this node sees it: its name, node-to-node address, index, whether it can be reached
 * now, and its running jobs (-1 when it cannot be asked).
 */
public record NodeInfo(String name, String address, int index, boolean reachable, int runningJobs) {}
