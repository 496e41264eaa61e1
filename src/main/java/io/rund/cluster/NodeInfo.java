package io.rund.cluster;

/**
 * One member of the fleet as this node sees it: its name, node-to-node address, index, whether it can be reached
 * now, and its running jobs (-1 when it cannot be asked); {@code otherCluster}: a configured seed found Up in another
 * cluster than this node's (the fleet split, {@link SplitWatch}).
 */
public record NodeInfo(String name, String address, int index, boolean reachable, int runningJobs, boolean otherCluster) {

    /** A member of this node's own cluster. */
    public NodeInfo(String name, String address, int index, boolean reachable, int runningJobs) {
        this(name, address, index, reachable, runningJobs, false);
    }
}
