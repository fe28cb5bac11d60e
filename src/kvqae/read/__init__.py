"""kvqae.read"""
