"""Prints the survey path of a ticket's invitation from the notifications queue (the
message stays on the queue). Usage: invitation.py <prefix> <reference>"""
import json, os, sys, time
import boto3

prefix, reference = sys.argv[1], sys.argv[2]
# boto3 reads AWS_ENDPOINT_URL_SQS itself, but only AWS_DEFAULT_REGION for the region.
region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
sqs = boto3.client("sqs", region_name=region)
url = sqs.get_queue_url(QueueName=f"{prefix}-NotificationsQueue")["QueueUrl"]
for _ in range(30):
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1)
    for m in got.get("Messages", []):
        body = json.loads(m["Body"])
        if body.get("kind") == "survey_invitation" and body.get("reference") == reference:
            print(body["survey_path"])
            sys.exit(0)
    time.sleep(0.3)
sys.exit("no survey invitation for " + reference)
