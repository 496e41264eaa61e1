package io.rund.cluster;

import com.typesafe.config.Config;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.util.List;

/**
 * Refuses at join a node whose admin SANs differ from the cluster's: every node authorizes every request it owns,
 * so one node with other admins would let them see and stop jobs across the whole fleet. The cluster system's
 * configuration carries {@value #KEY} (rund.admin-sans, sorted and joined), which Pekko's join handshake compares.
 */
public final class AdminSansCheck extends JoinConfigCompatChecker {

    static final String KEY = "rund.cluster-admin-sans";

    @Override
    public Seq<String> requiredKeys() {
        return CollectionConverters.asScala(List.of(KEY)).toList();
    }

    @Override
    public ConfigValidation check(Config toCheck, Config actualConfig) {
        return JoinConfigCompatChecker.fullMatch(requiredKeys(), toCheck, actualConfig);
    }
}
